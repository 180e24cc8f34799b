"""The first call of every lesson: backend, quiet TensorFlow logs, seeds, deterministic ops, version checks.

Call :func:`setup` before importing ``keras``: Keras reads its backend once,
at import, and TensorFlow prints its C++ log lines while it loads.

Example::

    from keraslab.lesson import setup

    setup(backend="tensorflow")  # keras 3.15.1 | tensorflow 2.21.0 | backend tensorflow | seed 42 | ...
    import keras
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from keraslab.i18n import set_language, translator
from keraslab.results import RESULT_FILE_ENV, read_result, write_result

_ = translator("keraslab")

__all__ = ["MINIMUM", "RECORDED_WITH", "SetupError", "LessonSetup", "setup", "quiet_native_stderr"]

#: The oldest versions the lessons work with, and why.
MINIMUM = {
    "keras": ("3.15.1", "safe mode refuses Lambda layers since Keras 3.15.1, which lesson 06 relies on"),
    "tensorflow": ("2.16.0", "TensorFlow 2.16 is the first release that works with Keras 3"),
    "jax": ("0.4.20", "Keras 3 needs jax 0.4.20 or newer"),
}

#: The versions the stored outputs of the notebooks were recorded with (requirements.txt).
RECORDED_WITH = {"keras": "3.15.1", "tensorflow": "2.21.0", "jax": "0.10.2"}

#: What TensorFlow's C++ runtime writes to file descriptor 2 while it loads, e.g.
#: ``I0000 00:00:17.58 3542 cudart_stub.cc:31] Could not find cuda drivers ...``.
_NATIVE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\]"
    r"|To enable the following instructions:.*rebuild TensorFlow)"
)


class SetupError(RuntimeError):
    """The kernel cannot run the lesson as it is (a package too old or missing, a backend already chosen)."""


@dataclass(frozen=True)
class LessonSetup:
    """What :func:`setup` chose: the backend, the seed and the versions found."""

    backend: str
    seed: int
    versions: dict[str, str]
    deterministic_ops: bool

    def line(self) -> str:
        found = " | ".join(f"{name} {version}" for name, version in self.versions.items())
        tail = " | " + _("deterministic ops") if self.deterministic_ops else ""
        return _("{found} | backend {backend} | seed {seed}").format(found=found, backend=self.backend,
                                                                      seed=self.seed) + tail


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"2.21.0rc1"`` -> ``(2, 21, 0)``: versions compare as numbers, never as strings."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Keep TensorFlow's C++ log lines (written straight to file descriptor 2) out of the output.

    Whatever native code writes to fd 2 inside the block goes to a temporary file;
    afterwards every line that is not a TensorFlow/absl log line is written to
    ``sys.stderr``, so real messages still reach the learner.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (some embedded interpreters): nothing to redirect
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _NATIVE_LOG.match(line))
            if kept.strip():
                sys.stderr.write(kept)


def _installed_version(name: str) -> str:
    """The installed version of ``name``, read without importing it (so a too-old release never loads)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        raise SetupError(
            f'{name} is not installed in this kernel. Fix: run `%pip install "{name}>={MINIMUM[name][0]}"` '
            "in a cell, then restart the kernel."
        ) from None


def _check_version(name: str, version: str) -> str | None:
    """Raise when ``version`` is below :data:`MINIMUM`; return a warning when it differs from the recording."""
    minimum, why = MINIMUM[name]
    if _version_tuple(version) < _version_tuple(minimum):
        raise SetupError(
            f"{name} {version} is too old for this lesson: it needs {name} >= {minimum} ({why}). "
            f'Fix: run `%pip install -U "{name}>={minimum}"` in a cell, then restart the kernel.'
        )
    recorded = RECORDED_WITH[name]
    if _version_tuple(version) != _version_tuple(recorded):
        return _("{name} {version} (the stored outputs were recorded with {name} {recorded})").format(
            name=name, version=version, recorded=recorded
        )
    return None


def _choose_backend(backend: str, allow_other_backend: bool) -> str:
    """``KERAS_BACKEND`` if set (and allowed), else the lesson's; refuse a kernel whose Keras has another."""
    chosen = os.environ.get("KERAS_BACKEND") or backend
    if chosen != backend and not allow_other_backend:
        raise SetupError(
            f"KERAS_BACKEND={chosen} is set, but this lesson is about {backend} itself and runs only on the "
            f"{backend} backend. Fix: start the kernel without KERAS_BACKEND (or with KERAS_BACKEND={backend})."
        )
    already = sys.modules.get("keras")
    if already is not None and already.backend.backend() != chosen:
        raise SetupError(
            f"keras was already imported in this kernel with the {already.backend.backend()} backend, so it cannot "
            f"switch to {chosen}. Fix: restart the kernel and run this cell first."
        )
    return chosen


def _report_backend(backend: str) -> None:
    """Report the backend for ``make run``'s table (nothing is written in a learner's kernel). The first
    setup() wins: a child process a lesson starts (lesson 05's JAX step) inherits the result file."""
    target = os.environ.get(RESULT_FILE_ENV)
    if target and "backend" not in (read_result(target) or {}):
        write_result({"backend": backend})


def setup(
    backend: str = "tensorflow",
    seed: int = 42,
    *,
    language: str = "en",
    verbose: bool = True,
    allow_other_backend: bool = True,
) -> LessonSetup:
    """Prepare this kernel for a lesson; call it before ``import keras``.

    1. Picks the Keras backend: ``KERAS_BACKEND`` if it is already set (so
       ``KERAS_BACKEND=jax jupyter lab`` switches a lesson), else ``backend``.
    2. Quiets TensorFlow's logs *before* TensorFlow loads (``TF_CPP_MIN_LOG_LEVEL=3``
       unless set, and its load-time C++ lines filtered out of fd 2).
    3. Seeds Python, NumPy and the backend (``keras.utils.set_random_seed``) and,
       on TensorFlow, enables deterministic ops.
    4. Checks versions as numbers: below :data:`MINIMUM` raises :class:`SetupError`
       naming the fix; different from :data:`RECORDED_WITH` prints one warning line
       (numbers and messages may differ from the stored outputs) and goes on.
    5. Prints one line: versions, backend, seed.
    6. Sets the language of what the package prints (:mod:`keraslab.i18n`), and of
       the run folders (:mod:`keraslab.paths`): the Korean edition says
       ``language="ko"``.

    Args:
        backend: the lesson's backend (``"tensorflow"`` or ``"jax"``).
        seed: the random seed.
        language: ``"en"`` (``notebooks/``) or ``"ko"`` (``notebooks/ko/``, 한국어판).
        verbose: print the summary line (and the version warning).
        allow_other_backend: ``False`` for a lesson whose subject is the backend
            itself (TensorFlow's ``GradientTape``, ``tf.distribute``): another
            ``KERAS_BACKEND`` is then refused with the fix, instead of failing
            later in a TensorFlow-only cell.

    Returns:
        A :class:`LessonSetup` with what was chosen and found.

    Raises:
        SetupError: a package is missing or too old, Keras was already
            imported with another backend (restart the kernel), or
            ``KERAS_BACKEND`` names another backend than a lesson that allows
            no other.
    """
    set_language(language)
    chosen = _choose_backend(backend, allow_other_backend)
    os.environ["KERAS_BACKEND"] = chosen
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO, WARNING and ERROR lines off
    needed = ["keras"] + ([chosen] if chosen in ("tensorflow", "jax") else [])
    versions = {name: _installed_version(name) for name in needed}
    warnings = [w for w in (_check_version(name, v) for name, v in versions.items()) if w]
    with quiet_native_stderr():
        for name in needed[1:]:
            importlib.import_module(name)
        keras = importlib.import_module("keras")
        keras.utils.set_random_seed(seed)
        if chosen == "tensorflow":
            importlib.import_module("tensorflow").config.experimental.enable_op_determinism()
    result = LessonSetup(chosen, seed, versions, deterministic_ops=chosen == "tensorflow")
    _report_backend(chosen)
    if verbose:
        print(result.line())
        if warnings:
            print(
                _("Warning: this kernel has {found}. The lesson runs; printed numbers may differ.").format(
                    found="; ".join(warnings)
                ),
                file=sys.stderr,
            )
    return result
