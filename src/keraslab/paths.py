"""Where keraslab reads and writes: repo root, logs, checkpoints, figures, build, data.

Every folder can be moved with an environment variable, so tests and CI can
point a notebook somewhere else without editing it:

| folder       | default            | environment variable       |
|--------------|--------------------|----------------------------|
| repo root    | found from here    | ``KERASLAB_ROOT``          |
| logs         | ``<root>/logs``    | ``KERASLAB_LOGS_DIR``      |
| checkpoints  | ``<root>/checkpoints`` | ``KERASLAB_CHECKPOINTS_DIR`` |
| figures      | ``<root>/figures`` | ``KERASLAB_FIGURES_DIR``   |
| build        | ``<root>/build``   | ``KERASLAB_BUILD_DIR``     |
| data         | ``<root>/data``    | ``KERASLAB_DATA_DIR`` (see :mod:`keraslab.data`) |

The Korean edition (``setup(language="ko")``) works one level down, in
``logs/ko``, ``checkpoints/ko``, ``figures/ko`` and ``build/ko``, so the two
editions' runs never mix, even when both run at once; its scripts are in
``notebooks/ko/scripts`` (:func:`scripts_dir`).

Run folders (``logs/<notebook>/<run>``, ``checkpoints/<notebook>/<run>``) are
made *fresh*: a rerun of the same cell replaces the old run instead of mixing
new event files or a stale "best" checkpoint into it.

Example::

    from keraslab import paths
    log_dir = paths.run_dir("logs", "01_iris", "baseline")
    log_dir.relative_to(paths.repo_root()).as_posix()
    # -> 'logs/01_iris/baseline'
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from keraslab.i18n import language

__all__ = [
    "repo_root",
    "logs_dir",
    "checkpoints_dir",
    "figures_dir",
    "build_dir",
    "scripts_dir",
    "run_dir",
    "relative",
    "Run",
    "new_run",
]

_ENV = {
    "logs": "KERASLAB_LOGS_DIR",
    "checkpoints": "KERASLAB_CHECKPOINTS_DIR",
    "figures": "KERASLAB_FIGURES_DIR",
    "build": "KERASLAB_BUILD_DIR",
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


def repo_root() -> Path:
    """The repository root: ``KERASLAB_ROOT`` if set, else the folder holding
    ``pyproject.toml`` above this file (an editable install), else the cwd."""
    env = os.environ.get("KERASLAB_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "keraslab").is_dir():
            return parent
    return Path.cwd().resolve()


def _folder(kind: str) -> Path:
    env = os.environ.get(_ENV[kind])
    folder = Path(env).expanduser().resolve() if env else repo_root() / kind
    return folder if language() == "en" else folder / language()


def logs_dir() -> Path:
    """TensorBoard and CSV logs (``tensorboard --logdir=logs`` reads this)."""
    return _folder("logs")


def checkpoints_dir() -> Path:
    """Model checkpoints written by the notebooks."""
    return _folder("checkpoints")


def figures_dir() -> Path:
    """Saved plots (PNG/SVG) written by the notebooks."""
    return _folder("figures")


def build_dir() -> Path:
    """Executed notebook copies and other generated files."""
    return _folder("build")


def scripts_dir() -> Path:
    """The programs the lessons run in new processes: ``notebooks/scripts`` (``notebooks/ko/scripts``
    for the Korean edition, the same code with Korean comments and messages)."""
    notebooks = repo_root() / "notebooks"
    return notebooks / "scripts" if language() == "en" else notebooks / language() / "scripts"


def run_dir(kind: str, notebook: str, run: str, *, fresh: bool = True) -> Path:
    """Return ``<kind folder>/<notebook>/<run>``, created and (by default) emptied.

    Args:
        kind: ``"logs"``, ``"checkpoints"``, ``"figures"`` or ``"build"``.
        notebook: the lesson's short name, e.g. ``"01_iris"``.
        run: what the run is, e.g. ``"adam-dropout-0.3"``. Letters, digits and
            ``. _ = + -`` only, so the name reads the same in TensorBoard.
        fresh: remove whatever a previous run left there first (the default),
            so event files and "best so far" checkpoints never mix across reruns.

    Returns:
        The folder, which exists and is empty when ``fresh`` is true.

    Raises:
        ValueError: for an unknown ``kind`` or a name with ``/``, spaces, ``..``.
    """
    if kind not in _ENV:
        raise ValueError(f"kind must be one of {sorted(_ENV)}, got {kind!r}")
    for label, name in (("notebook", notebook), ("run", run)):
        if not _SAFE_NAME.match(name) or ".." in name:
            raise ValueError(
                f"{label} name {name!r} is not a plain folder name: use letters, digits "
                "and . _ = + - (for example 'adam-dropout-0.3')"
            )
    folder = _folder(kind) / notebook / run
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def relative(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the repo root when it lies inside it (for stable printouts)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(repo_root()).as_posix()
    except ValueError:
        return p.as_posix()


@dataclass(frozen=True)
class Run:
    """The folders of one training run: ``logs/<notebook>/<name>`` and
    ``checkpoints/<notebook>/<name>``. Make one with :func:`new_run`."""

    notebook: str
    name: str
    log_dir: Path
    checkpoint_dir: Path

    @property
    def label(self) -> str:
        """``<notebook>/<name>``, the run's name in TensorBoard."""
        return f"{self.notebook}/{self.name}"


def new_run(notebook: str, name: str, *, fresh: bool = True) -> Run:
    """Fresh, empty log and checkpoint folders for one training run.

    Args:
        notebook: the lesson's short name, e.g. ``"03_fashion"``.
        name: what the run is, e.g. ``"adam-dropout-0.3"``.
        fresh: empty the folders (default). ``False`` keeps what an earlier,
            interrupted attempt left, so resumable training can pick it up.

    Example::

        run = new_run("01_iris", "baseline")
        relative(run.log_dir)
        # -> 'logs/01_iris/baseline'
    """
    return Run(
        notebook=notebook,
        name=name,
        log_dir=run_dir("logs", notebook, name, fresh=fresh),
        checkpoint_dir=run_dir("checkpoints", notebook, name, fresh=fresh),
    )
