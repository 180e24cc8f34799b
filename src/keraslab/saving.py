"""Saving that never loses a good file, and loading that explains what went wrong.

Keras writes ``model.save`` / ``save_weights`` in place: a crash or a kill
during the write leaves a truncated file where a good one was, and loading it
later says ``File not found`` or an HDF5 error. Here every write goes to a
temporary *folder* beside the target (``.best.keras.tmp-XXXX/best.keras``: the
file keeps the ending Keras picks the format from, while nothing that ends in
``.keras`` or ``.weights.h5`` ever appears beside your checkpoints), gets a
SHA-256 digest sealed inside it (:mod:`keraslab.integrity`), and is then moved
over the target with ``os.replace``, which is atomic on POSIX and Windows:
readers see the old file or the new one, never half of one, and the digest is
committed by the same rename. :func:`sweep_temporaries` removes what a kill
left behind.

Loading goes through :func:`load_model` / :func:`load_weights`, which check
the file's structure, verify its digest (a flipped bit is an error; files
written by plain Keras carry none and still load), compare the sizes it
declares with the bytes it stores before anything is allocated, refuse a
config that asks to run code (:mod:`keraslab.screening`), keep Keras's
``safe_mode=True`` (no code from ``Lambda`` layers runs), and turn every
failure into one :class:`CheckpointError` naming the file and the cause.

Example::

    from keraslab import saving
    saving.save_model(model, "checkpoints/03_fashion/final/model.keras")
    model = saving.load_model("checkpoints/03_fashion/final/model.keras")
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import keras

from keraslab import integrity, screening

__all__ = [
    "CheckpointError",
    "atomic_path",
    "atomic_write_text",
    "save_model",
    "save_weights",
    "load_model",
    "load_weights",
    "check_checkpoint",
    "verify_digest",
    "sweep_temporaries",
    "pause_point",
    "read_json",
]

_H5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TMP_MARK = ".tmp-"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, of the wrong kind, or unsafe."""


def pause_point(name: str) -> None:
    """A named point in a commit or cleanup path where a test can stop the process and kill it.

    When ``KERASLAB_PAUSE_AT`` equals ``name`` (or ``name@N``: the N-th time
    this point is reached), print ``PAUSED <name>`` and wait forever, so the
    test can send SIGKILL exactly there. Without the variable it does nothing.

    Args:
        name: the point, e.g. ``"before-replace:best.keras"`` or ``"finish-committed"``.
    """
    wanted = os.environ.get("KERASLAB_PAUSE_AT")
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _PAUSE_HITS[name] = _PAUSE_HITS.get(name, 0) + 1
    if _PAUSE_HITS[name] != int(nth or 1):
        return
    print(f"PAUSED {name}", flush=True)
    sys.stdout.flush()
    while True:  # until the test kills us
        time.sleep(3600)


_PAUSE_HITS: dict[str, int] = {}


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform / file system
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, seal: bool = True) -> Iterator[Path]:
    """Yield a temporary path for ``path``; on success seal it and move it over ``path``.

    The temporary file has ``path``'s own name (Keras picks the format from
    the ending) inside a fresh hidden folder beside it,
    ``.<name>.tmp-XXXX/<name>``, so no stray file ending in ``.keras`` or
    ``.weights.h5`` ever sits beside the checkpoints. When the body finishes,
    a ``.keras`` / ``.h5`` file gets its SHA-256 digest sealed inside
    (:func:`keraslab.integrity.seal`), is flushed to disk and committed by one
    ``os.replace``. If the body raises, ``path`` is untouched and the folder is
    removed; after a kill, :func:`sweep_temporaries` removes it on the next start.

    Args:
        path: the file to write.
        seal: embed the digest (default); ``False`` commits the bytes as written.

    Raises:
        CheckpointError: the body wrote nothing, or a ``.keras`` / ``.h5`` file
            that is not a complete archive / HDF5 file (it is not committed).

    Example::

        with saving.atomic_path("checkpoints/run/model.keras") as tmp:
            model.save(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}{_TMP_MARK}", dir=path.parent))
    tmp_path = tmp_dir / path.name
    try:
        yield tmp_path
        if not tmp_path.is_file():
            raise CheckpointError(f"{path}: nothing was written to {tmp_path}; the previous file is kept")
        if seal and (path.name.endswith(".keras") or path.name.endswith(".h5")):
            try:
                integrity.seal(tmp_path)
            except integrity.IntegrityError as exc:
                raise CheckpointError(f"{exc} (the previous {path.name} is kept)") from None
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        pause_point(f"before-replace:{path.name}")
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
        pause_point(f"after-replace:{path.name}")
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def sweep_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> list[str]:
    """Remove what interrupted atomic writes left in ``folder``: ``.<name>.tmp-*`` folders and files.

    Args:
        folder: the folder to clean (not recursive).
        name: only temporaries of this target file name; ``None``: all of them.

    Returns:
        The names removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    prefix = f".{name}{_TMP_MARK}" if name else "."
    removed = []
    for entry in folder.iterdir():
        if entry.name.startswith(prefix) and _TMP_MARK in entry.name:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return sorted(removed)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, seal=False) as tmp:
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


def verify_digest(path: str | os.PathLike[str]) -> str:
    """Check the SHA-256 digest keraslab sealed inside a checkpoint file.

    Args:
        path: a ``.keras`` or ``.h5`` / ``.weights.h5`` file.

    Returns:
        ``"verified"``, or ``"unverified"`` for a file without a digest (written by plain Keras).

    Raises:
        CheckpointError: the digest does not match: a bit changed since the
            file was saved, or the file was cut short.

    Example::

        saving.verify_digest("checkpoints/06_reliable/run/model.weights.h5")   # -> "verified"
    """
    try:
        return integrity.verify(path)
    except integrity.IntegrityError as exc:
        raise CheckpointError(str(exc)) from None


def _screen(path: Path) -> dict | None:
    """Digest, declared sizes and config of ``path``, checked before Keras reads it; returns the config."""
    verify_digest(path)
    try:
        if path.name.endswith(".keras"):
            with zipfile.ZipFile(path) as archive:
                screening.check_zip_sizes(archive, path)
                config = screening.read_config(archive, path)
            screening.refuse_hostile(path, config)
            return config
        screening.check_h5_sizes(path, path, stored_bytes=path.stat().st_size)
    except screening.ScreeningError as exc:
        raise CheckpointError(str(exc)) from None
    return None


_MISSING = re.compile(
    r"(?:Could not locate|Cannot deserialize object of type|Could not deserialize) "
    r"(?:class |function )?[`'\"]?([A-Za-z_][\w.>]*)"
)


def _explain(path: Path, exc: Exception, config: dict | None = None) -> CheckpointError:
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    missing = _MISSING.search(text)
    if "lambda" in lowered and ("safe_mode" in lowered or "unsafe" in lowered):
        cause = (
            "it contains a Lambda layer, whose Python code would run when loaded; refused in safe mode. "
            "Only load it with safe_mode=False if you wrote the file yourself"
        )
    elif "non-modeling" in lowered or "not a kerassaveable" in lowered:
        name = re.search(r"`([\w.]+)`|'([\w.]+)'", text)
        what = next((g for g in name.groups() if g), "a non-modelling function") if name else "a non-modelling function"
        return CheckpointError(
            f"{path}: refused: this file asks to run {what} when loaded; keraslab never runs code from a "
            f"checkpoint. Nothing from it was executed. ({text[:300]})"
        )
    elif missing is not None and config is not None:
        cause = screening.describe_missing_class(config, missing.group(1))
    elif "unknown" in lowered or "could not locate" in lowered or "custom_objects" in lowered:
        cause = (
            "it uses a class Keras does not know here; import the module that defines it (registered with "
            "@keras.saving.register_keras_serializable) or pass custom_objects"
        )
    elif isinstance(exc, MemoryError) or "unable to allocate" in lowered:
        cause = (
            "loading it needs more memory than this machine has (the file declares very large arrays); "
            "load it on a bigger machine, or use an earlier checkpoint if it should be small"
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
    """``keras.saving.load_model`` in safe mode, after checks that run before Keras reads anything.

    In order: the file exists and is a complete ``.keras`` archive; its sealed
    digest matches (files without one, from plain Keras, load unverified); no
    member or array declares more bytes than it stores; its config names no
    code to run (``os.system``, ``builtins.exec``, Keras's unsafe utilities).
    Then Keras loads it with ``safe_mode=True``.

    Args:
        path: the ``.keras`` file.
        custom_objects: your custom classes and functions, ``{"Name": Name}``,
            for a model whose classes are not registered in an imported module.
        compile: restore the optimizer, loss and metrics too.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, altered since
            it was saved, not a model, declares data it does not hold, asks to
            run code ("refused: ..."), or needs a class that is not defined here
            (the message says which and where it was defined).

    Example::

        model = saving.load_model("checkpoints/04_models/run/ticket_model.keras")
    """
    path = check_checkpoint(path)
    if not path.name.endswith(".keras"):
        raise CheckpointError(f"{path}: load_model takes a whole model ('.keras'); for weights use load_weights")
    config = _screen(path)
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files
        raise _explain(path, exc, config) from None


def load_weights(model: keras.Model, path: str | os.PathLike[str]) -> keras.Model:
    """``model.load_weights(path)`` after the same checks as :func:`load_model`; returns ``model``.

    Args:
        model: a built model of the architecture the file was saved from.
        path: a ``.weights.h5`` file (or a ``.keras`` file, whose weights are loaded).

    Raises:
        CheckpointError: missing, truncated, corrupt or altered file, declared
            sizes the file cannot back, or weights of another architecture.

    Example::

        saving.load_weights(resume_demo.demo_model(), "checkpoints/06_reliable/resume-demo/final.weights.h5")
    """
    path = check_checkpoint(path)
    config = _screen(path)
    try:
        model.load_weights(path)
    except Exception as exc:
        raise _explain(path, exc, config) from None
    return model


def read_json(path: str | os.PathLike[str]) -> dict:
    """Read a small JSON state file (a training backup's metadata), with a clear error when it is truncated.

    Args:
        path: the JSON file.

    Returns:
        The parsed object.

    Raises:
        CheckpointError: the file is truncated or not JSON; the message names it and says to delete it.

    Example::

        saving.read_json(run.checkpoint_dir / "backup" / "training_metadata.json")   # -> {"epoch": 3, ...}
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: truncated or corrupt JSON ({exc}); delete it to start over") from None
