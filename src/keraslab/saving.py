"""Saving that never loses a good file, and loading that explains what went wrong.

Keras writes ``model.save`` / ``save_weights`` in place: a crash or a kill
during the write leaves a truncated file where a good one was, and loading it
later says ``File not found`` or an HDF5 error. Here every write goes to a
temporary file in the same folder (keeping the ``.keras`` / ``.weights.h5``
ending Keras insists on) and is then moved over the target with
``os.replace``, which is atomic on POSIX and Windows: readers see the old file
or the new one, never half of one.

Loading goes through :func:`load_model` / :func:`load_weights`, which keep
Keras's ``safe_mode=True`` (no code from ``Lambda`` layers runs) and turn
missing, truncated, corrupt and wrong-format files into one
:class:`CheckpointError` naming the file and the likely cause.

Example::

    from keraslab import saving
    saving.save_model(model, "checkpoints/03_fashion/final/model.keras")
    model = saving.load_model("checkpoints/03_fashion/final/model.keras")
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import keras

__all__ = [
    "CheckpointError",
    "atomic_path",
    "atomic_write_text",
    "save_model",
    "save_weights",
    "load_model",
    "load_weights",
    "check_checkpoint",
]

_H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, of the wrong kind, or unsafe."""


def _suffix(path: Path) -> str:
    name = path.name
    for suffix in (".weights.h5", ".keras", ".h5", ".json"):
        if name.endswith(suffix):
            return suffix
    return path.suffix


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it over ``path``.

    The temporary name keeps ``path``'s ending (``.keras``, ``.weights.h5``),
    since Keras picks the format from it. If the body raises, or the process
    dies, ``path`` is untouched and the temporary file is removed (or, after a
    kill, left as ``.<name>.tmp-*`` beside it, which nothing loads).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = _suffix(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # Keras refuses to overwrite silently in some paths; let it create the file
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _write(path: Path, writer: Callable[[str], None]) -> Path:
    with atomic_path(path) as tmp:
        writer(str(tmp))
    return path


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """``model.save(path)``, atomically. ``path`` must end in ``.keras``."""
    path = Path(path)
    if not path.name.endswith(".keras"):
        raise CheckpointError(f"{path}: a whole model is saved as '.keras' in Keras 3; use {path.stem}.keras")
    return _write(path, model.save)


def save_weights(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """``model.save_weights(path)``, atomically. ``path`` must end in ``.weights.h5``."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise CheckpointError(
            f"{path}: weights are saved as '.weights.h5' in Keras 3; use {path.name.split('.')[0]}.weights.h5"
        )
    return _write(path, model.save_weights)


def check_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` exists and looks like the file its name promises.

    Cheap structural checks, before Keras parses anything: a ``.keras`` file
    must be a complete zip archive holding ``config.json``; a ``.h5`` file must
    start with the HDF5 signature and not be cut short.

    Raises:
        CheckpointError: naming the file and the likely cause.
    """
    path = Path(path)
    if not path.exists():
        siblings = sorted(p.name for p in path.parent.glob("*")) if path.parent.is_dir() else []
        hint = f" The folder has: {', '.join(siblings[:8])}" if siblings else " The folder is empty or missing."
        raise CheckpointError(f"{path}: file not found.{hint}")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes); the save that wrote it was interrupted")
    name = path.name
    if name.endswith(".keras"):
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                head = f.read(8)
            kind = "an HDF5 file (rename it to .h5 or .weights.h5)" if head == _H5_SIGNATURE else "not a zip archive"
            raise CheckpointError(
                f"{path}: not a valid .keras archive ({kind}, {size} bytes); the file is truncated or corrupt "
                "(was the save interrupted?). Use an earlier checkpoint."
            )
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CheckpointError(f"{path}: corrupt .keras archive ({exc}). Use an earlier checkpoint.") from None
        if bad is not None:
            raise CheckpointError(f"{path}: corrupt .keras archive: member {bad!r} fails its CRC check")
        if "config.json" not in names:
            raise CheckpointError(f"{path}: a zip archive but not a Keras model (no config.json; has {names[:5]})")
    elif name.endswith(".h5"):
        with open(path, "rb") as f:
            head = f.read(8)
        if head != _H5_SIGNATURE:
            kind = "a .keras zip archive" if head[:2] == b"PK" else "not an HDF5 file"
            raise CheckpointError(f"{path}: {kind}; expected HDF5 weights ({size} bytes)")
    else:
        raise CheckpointError(f"{path}: unknown checkpoint type; expected a '.keras' or '.weights.h5' file")
    return path


def _explain(path: Path, exc: Exception) -> CheckpointError:
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if "lambda" in lowered and ("safe_mode" in lowered or "unsafe" in lowered):
        cause = (
            "it contains a Lambda layer, whose Python code would run when loaded; refused in safe mode. "
            "Only load it with safe_mode=False if you wrote the file yourself"
        )
    elif "unknown" in lowered or "could not locate" in lowered or "custom_objects" in lowered:
        cause = (
            "it uses a class Keras does not know here; import the module that defines it (registered with "
            "@keras.saving.register_keras_serializable) or pass custom_objects"
        )
    elif "truncated" in lowered or "unable to" in lowered or "file signature" in lowered or "eof" in lowered:
        cause = "the file is truncated or corrupt (was the save interrupted?); use an earlier checkpoint"
    elif "shape" in lowered or "layer" in lowered or "expected" in lowered:
        cause = "its weights do not fit this model (another architecture?)"
    else:
        cause = "the file is corrupt or not a checkpoint of this model"
    return CheckpointError(f"{path}: cannot be loaded: {cause}. ({text[:500]})")


def load_model(
    path: str | os.PathLike[str], *, custom_objects: dict | None = None, compile: bool = True
) -> keras.Model:
    """``keras.saving.load_model`` in safe mode, with checks and clear errors.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, not a model,
            or holds code (a ``Lambda`` layer) that safe mode refuses to run.
    """
    path = check_checkpoint(path)
    if not path.name.endswith(".keras"):
        raise CheckpointError(f"{path}: load_model takes a whole model ('.keras'); for weights use load_weights")
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files
        raise _explain(path, exc) from None


def load_weights(model: keras.Model, path: str | os.PathLike[str]) -> keras.Model:
    """``model.load_weights(path)`` with checks and clear errors; returns ``model``."""
    path = check_checkpoint(path)
    try:
        model.load_weights(path)
    except Exception as exc:
        raise _explain(path, exc) from None
    return model


def read_json(path: str | os.PathLike[str]) -> dict:
    """Read a small JSON state file, with a clear error when it is truncated."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: truncated or corrupt JSON ({exc}); delete it to start over") from None
