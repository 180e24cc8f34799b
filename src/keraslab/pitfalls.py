"""Pitfall cells: run the course material's old code for real, show its error, and let Run All go on.

A lesson shows a Keras 3 pitfall by running the outdated code inside
``with pitfall(ErrorType, match="..."):``. When the code raises the expected
error, the learner sees it as IPython shows any error (type, message and
traceback) and the notebook continues: no cell tag is needed, so *Run All*
works the same in JupyterLab, Notebook, VS Code and Google Colab.

The check is strict, like a strict xfail: if the code stops raising (a Keras
release fixed it), raises another type, or says something else, the cell fails
loudly so the lesson gets updated.

In a notebook the error is displayed as HTML (the traceback) with a plain-text
fallback (``ValueError: ...``). The traceback sits between ``<!--traceback-->``
markers, which the test suite's nbval sanitizer collapses: nbval compares the
exception's type and message, never the file paths and line numbers of the
Keras source in between.

Example::

    from keraslab.pitfalls import pitfall

    with pitfall(AttributeError, match="has no attribute 'lr'"):
        model.optimizer.lr  # Keras 2 name; Keras 3 calls it learning_rate
"""

from __future__ import annotations

import html
import re
import sys
import traceback
from types import TracebackType

__all__ = ["PitfallFixedError", "pitfall"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOX = (
    "background: rgba(220, 40, 40, 0.08); border-left: 3px solid rgba(220, 40, 40, 0.7); "
    "padding: 2px 8px; margin: 2px 0"
)


class PitfallFixedError(AssertionError):
    """The course material's code no longer fails as the lesson says: update the lesson."""


def _ansi_to_html(text: str) -> str:
    """HTML for text with ANSI colours (nbconvert's converter when present, else plain escaped text)."""
    try:
        from nbconvert.filters.ansi import ansi2html
    except ImportError:  # a kernel without nbconvert: lose the colours, keep the text
        return html.escape(_ANSI.sub("", text))
    return ansi2html(text)


def _ipython_kernel():
    """The running IPython shell when this runs in a Jupyter kernel, else None."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return shell


def _show(error: BaseException, tb: TracebackType | None) -> None:
    """Show ``error`` the way IPython shows an uncaught one, without stopping the notebook."""
    last_line = "".join(traceback.format_exception_only(type(error), error)).rstrip("\n")
    shell = _ipython_kernel()
    if shell is None:  # a plain Python process: the standard traceback, on stderr
        traceback.print_exception(type(error), error, tb, file=sys.stderr)
        return
    from IPython.display import display

    frames = shell.InteractiveTB.structured_traceback(type(error), error, tb)[:-1]
    frames_html = _ansi_to_html("\n".join(frames))
    body = (
        f'<pre style="margin: 0; white-space: pre-wrap"><!--traceback-->{frames_html}\n<!--/traceback-->'
        f'<b style="color: rgb(200, 30, 30)">{_ansi_to_html(last_line)}</b></pre>'
    )
    display(
        {"text/plain": _ANSI.sub("", last_line), "text/html": f'<div style="{_BOX}">{body}</div>'},
        raw=True,
    )


class pitfall:  # noqa: N801 - used like a function: `with pitfall(...)`
    """Expect the body to raise ``expected``; show the error and carry on.

    Args:
        expected: the exception class (or a tuple of classes) the old code raises.
            Warnings turned into errors with ``warnings.simplefilter("error")`` count too.
        match: a regular expression that ``str(error)`` must contain (``re.search``).

    Raises:
        PitfallFixedError: the body raised nothing, or a message that does not
            match: the pitfall is gone or has changed, so the lesson needs updating.

    Any other exception type propagates unchanged and stops the notebook, as it should.
    After the block, ``.error`` holds the exception that was caught.

    Example::

        >>> with pitfall(ZeroDivisionError, match="division by zero") as caught:
        ...     1 / 0
        >>> type(caught.error).__name__
        'ZeroDivisionError'
    """

    def __init__(self, expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None = None):
        self.expected = expected
        self.match = match
        self.error: BaseException | None = None

    def _names(self) -> str:
        kinds = self.expected if isinstance(self.expected, tuple) else (self.expected,)
        return " or ".join(k.__name__ for k in kinds)

    def __enter__(self) -> pitfall:
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if kind is None:
            raise PitfallFixedError(
                f"This pitfall no longer raises {self._names()}: the code above now runs without an error "
                "(a newer Keras may have changed it). Update the lesson: show what the code does now."
            )
        if not issubclass(kind, self.expected):
            return False  # an unexpected error: let it stop Run All
        if self.match is not None and not re.search(self.match, str(error)):
            raise PitfallFixedError(
                f"This pitfall raised {kind.__name__} as expected, but its message no longer contains "
                f"{self.match!r}; it says: {error}. Update the lesson's explanation and match=."
            ) from error
        self.error = error
        _show(error, tb)
        return True
