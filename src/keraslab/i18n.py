"""The language a lesson speaks: English (``notebooks/``) or Korean (``notebooks/ko/``, 한국어판).

A lesson picks it in its Setup cell, ``setup(backend=..., language="ko")``; then what the package prints
in that kernel (setup's line, the exercise checkers' feedback) comes from gettext catalogs:
``locale/<language>/LC_MESSAGES/<domain>.po`` (the text) compiled to ``.mo`` (``make translations``).
Each module has its own domain: ``keraslab`` for the shared messages, ``lesson01`` ... for a lesson's checkers.

Example::

    from keraslab.i18n import set_language, translator

    _ = translator("keraslab")
    set_language("ko")
    _("Correct")
    # -> '정답'
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from pathlib import Path

__all__ = ["LANGUAGES", "LOCALE_DIR", "language", "set_language", "translator"]

#: The editions of the course: English and Korean.
LANGUAGES = ("en", "ko")
#: Where the catalogs live.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current = "en"


def language() -> str:
    """The language this kernel's lesson chose (``"en"`` until ``setup(language=...)``)."""
    return _current


def set_language(name: str) -> None:
    """Make the package speak ``name`` (``"en"`` or ``"ko"``) in this process.

    Raises:
        ValueError: for a language the course has no edition in.
    """
    global _current
    if name not in LANGUAGES:
        raise ValueError(f"language={name!r} is not an edition of this course: use one of {', '.join(LANGUAGES)}.")
    _current = name


@functools.cache
def _catalog(domain: str, name: str) -> gettext.NullTranslations:
    return gettext.translation(domain, LOCALE_DIR, languages=[name], fallback=True)


def translator(domain: str) -> Callable[[str], str]:
    """A gettext function ``_`` for ``domain`` that follows :func:`language` at call time.

    Args:
        domain: the catalog's name, e.g. ``"keraslab"`` or ``"lesson03"``.
    """

    def _(message: str) -> str:
        return message if _current == "en" else _catalog(domain, _current).gettext(message)

    return _
