"""Atomic saves, and loads that check a file before Keras reads it (lessons 04-07; too long to inline).

Lesson 06 writes the short versions in cells (temp file + ``os.replace``; ``safe_mode=True``). Here
each write also gets its SHA-256 sealed *inside* the file (a trailer after HDF5's end of file; the
zip comment of a ``.keras``: plain Keras still loads both). Loading checks the file's kind, its
digest (plain-Keras files have none: "unverified"), the sizes it declares against the bytes it
stores, and that its config names nothing that runs code, then loads with ``safe_mode=True``. Every
failure is one :class:`CheckpointError` naming the file, the cause and the fix. Example:
``saving.save_model(model, folder / "model.keras")``, then ``saving.load_model(folder / "model.keras")``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

__all__ = ["CheckpointError", "atomic_path", "save_model", "save_weights", "load_model", "load_weights",
           "check_checkpoint", "verify_digest", "sweep_temporaries", "read_json", "refuse_links",
           "need_for"]

_H5 = b"\x89HDF\r\n\x1a\n"
_H5_MAGIC, _ZIP_MAGIC = b"KERASLAB-SHA256:", b"keraslab-sha256:"
_TRAILER = len(_H5_MAGIC) + 64 + 1  # 81 bytes after HDF5's end of file
_TMP = ".tmp-"
_RATIO = 200  # how much a compressed member or array may expand
_SEALED = ".keraslab-sealed"  # the names of the files keraslab sealed in this folder, one a line


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, of the wrong kind, or unsafe."""


def _sha(path: Path, length: int) -> str:
    return hashlib.sha256(path.read_bytes()[:length]).hexdigest()


def _seal(path: Path) -> None:
    """Write the file's SHA-256 into the file itself (before the commit)."""
    if path.name.endswith(".h5"):
        if path.read_bytes()[:8] != _H5:
            raise CheckpointError(f"{path}: not an HDF5 file; not committed")
        with open(path, "ab") as f:
            f.write(_H5_MAGIC + _sha(path, path.stat().st_size).encode() + b"\n")
        return
    try:
        with zipfile.ZipFile(path, "a") as archive:
            archive.comment = _ZIP_MAGIC + b"0" * 64
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a complete zip archive ({exc}); not committed") from None
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size - 64)
        f.write(_sha(path, size - 82).encode())


def verify_digest(path: str | os.PathLike[str]) -> str:
    """``"verified"``, or ``"unverified"`` for a file without a digest; CheckpointError if it does not match."""
    path = Path(path)
    size, data = path.stat().st_size, path.read_bytes()
    if path.name.endswith(".h5"):
        tail = data[-_TRAILER:]
        if not tail.startswith(_H5_MAGIC):
            near = sum(tail[i] == _H5_MAGIC[i] for i in range(min(16, len(tail))))  # a damaged trailer
            if _H5_MAGIC[:8] in data[-4 * _TRAILER:] or near >= 8:
                raise CheckpointError(f"{path}: its keraslab digest trailer is damaged or cut short; the file is "
                                      "corrupt or truncated. Use an earlier checkpoint.")
            return _unsealed(path)
        stored, covered = tail[len(_H5_MAGIC):], size - _TRAILER
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                comment = archive.comment
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CheckpointError(f"{path}: corrupt .keras archive ({exc}). Use an earlier checkpoint.") from None
        if not comment:
            return _unsealed(path)
        stored, covered = comment[len(_ZIP_MAGIC):] + b"\n" * comment.startswith(_ZIP_MAGIC), size - len(comment) - 2
    if stored != _sha(path, covered).encode() + b"\n":
        raise CheckpointError(
            f"{path}: SHA-256 does not match the digest keraslab sealed in it when it was saved: the file changed "
            "on disk (a flipped bit, a bad copy, a damaged disk). Use an earlier checkpoint or save it again.")
    return "verified"


def _unsealed(path: Path) -> str:
    if path.name in _sealed_names(path.parent):
        raise CheckpointError(
            f"{path}: refused: keraslab sealed a SHA-256 digest in this file when it saved it here ({_SEALED} lists "
            "it), and the digest is missing: the file was cut short or changed after it was saved (truncated, edited "
            "in place e.g. with h5py, or re-zipped). If you changed it yourself and trust it, load it knowingly "
            "with plain Keras (keras.saving.load_model(path) or model.load_weights(path)), outside this run folder's "
            "resume.")
    return "unverified"


def _sealed_names(folder: Path) -> set[str]:
    try:
        return set((folder / _SEALED).read_text(encoding="utf-8").splitlines())
    except (FileNotFoundError, UnicodeDecodeError):
        return set()


def refuse_links(*paths: str | os.PathLike[str]) -> None:
    """CheckpointError if a path is a symbolic link: keraslab never writes, renames or deletes through one."""
    for link in (Path(p) for p in paths):
        if link.is_symlink():
            raise CheckpointError(f"{link}: refused: a symbolic link (to {os.readlink(link)}); keraslab never writes, "
                                  "renames or deletes through a link, which can lead out of the run folder. Remove "
                                  "the link, or name the real folder.")


def _disk_full(path: Path, exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], need: int = 0):
    """Yield a temporary path beside ``path`` (same name, hidden folder); on success seal it and ``os.replace`` it.

    If the body raises, ``path`` is untouched and the temporary folder removed. A full disk is one
    CheckpointError saying which folder is full: checked first (free space for ``need`` bytes or the previous
    file's size, so that h5py never meets ``ENOSPC``), and ``ENOSPC`` caught.

    Example::

        with saving.atomic_path(run.checkpoint_dir / "model.keras") as tmp:
            model.save(tmp)
    """
    path = Path(path)
    refuse_links(path.parent, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = f"the previous {path.name} is kept" if path.exists() else f"there was no {path.name} before"
    folder = None
    try:
        need = max(need, path.stat().st_size if path.exists() else 0)
        if need and shutil.disk_usage(path.parent).free < need * 5 // 4 + (1 << 16):
            raise OSError(errno.ENOSPC, "not enough free space for a file the size of the previous one")
        folder = Path(tempfile.mkdtemp(prefix=f".{path.name}{_TMP}", dir=path.parent))
        tmp = folder / path.name
        yield tmp
        if not tmp.is_file():
            raise CheckpointError(f"{path}: nothing was written; the previous file is kept")
        if path.name.endswith((".keras", ".h5")):
            _seal(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        refuse_links(path.parent, path)  # again, right before the commit
        os.replace(tmp, path)  # the commit: readers see the old file or the new one
        if path.name.endswith((".keras", ".h5")) and path.name not in _sealed_names(path.parent):
            refuse_links(path.parent / _SEALED)
            with open(path.parent / _SEALED, "a", encoding="utf-8") as f:
                f.write(path.name + "\n")
    except Exception as exc:
        if not _disk_full(path, exc):
            raise
        raise CheckpointError(f"{path.parent}: the disk is full ({os.strerror(errno.ENOSPC)}): {path.name} was not "
                              f"saved and {kept}; the temporary file was removed. Free some space, then run again."
                              ) from None
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def sweep_temporaries(folder: str | os.PathLike[str]) -> None:
    """Remove the ``.<name>.tmp-*`` folders a killed write left in ``folder``."""
    refuse_links(folder)
    for entry in Path(folder).glob(f".*{_TMP}*"):
        entry.unlink() if entry.is_symlink() or not entry.is_dir() else shutil.rmtree(entry, ignore_errors=True)


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """``model.save(path)``, atomically and sealed. ``path`` must end in ``.keras``."""
    return _save(model.save, Path(path), ".keras", "a whole model is saved as")


def save_weights(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """``model.save_weights(path)``, atomically and sealed. ``path`` must end in ``.weights.h5``."""
    return _save(model.save_weights, Path(path), ".weights.h5", "weights are saved as")


def _save(write, path: Path, ending: str, what: str) -> Path:
    if not path.name.endswith(ending):
        raise CheckpointError(f"{path}: {what} '{ending}' in Keras 3; use {path.name.split('.')[0]}{ending}")
    with atomic_path(path, need_for(write.__self__)) as tmp:
        write(tmp)
    return path


def need_for(model: keras.Model) -> int:
    """About the bytes a save of ``model`` needs: its variables and its optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return sum(int(np.prod(v.shape)) * 8 for v in [*model.variables, *getattr(optimizer, "variables", [])])


def check_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` exists and is the kind of file its name says (zip with config.json, or HDF5)."""
    path = Path(path)
    if not path.is_file():
        there = sorted(p.name for p in path.parent.glob("[!.]*")) if path.parent.is_dir() else []
        hint = f" The folder has: {', '.join(there[:8])}" if there else " The folder is empty or missing."
        raise CheckpointError(f"{path}: file not found.{hint}")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes); the save that wrote it was interrupted")
    with open(path, "rb") as f:
        head = f.read(8)
    if path.name.endswith(".keras"):
        if not zipfile.is_zipfile(path):
            kind = "an HDF5 file (rename it to .h5 or .weights.h5)" if head == _H5 else "not a zip archive"
            raise CheckpointError(f"{path}: not a valid .keras archive ({kind}, {size} bytes); the file is truncated "
                                  "or corrupt (was the save interrupted?). Use an earlier checkpoint.")
        try:
            with zipfile.ZipFile(path) as archive:
                names, bad = archive.namelist(), archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise CheckpointError(f"{path}: corrupt .keras archive ({exc}). Use an earlier checkpoint.") from None
        if bad is not None:
            raise CheckpointError(f"{path}: corrupt .keras archive: member {bad!r} fails its CRC check")
        escape = next((n for n in names if n.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", n)), None)
        if escape is not None:
            raise CheckpointError(f"{path}: refused: the member name {escape!r} points outside the archive (a crafted "
                                  "zip: extracting it would write elsewhere). Do not load this file.")
        if "config.json" not in names:
            raise CheckpointError(f"{path}: a zip archive but not a Keras model (no config.json; has {names[:5]})")
    elif path.name.endswith(".h5"):
        if head != _H5:
            kind = "a .keras zip archive" if head[:2] == b"PK" else "not an HDF5 file"
            raise CheckpointError(f"{path}: {kind}; expected HDF5 weights ({size} bytes)")
    else:
        raise CheckpointError(f"{path}: unknown checkpoint type; expected a '.keras' or '.weights.h5' file")
    return path


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n:,} bytes"


def _check_h5_sizes(source, name: str, stored: int) -> None:
    """Compare what every array declares with the bytes stored for it, allocating nothing."""
    import h5py

    problems, outside, total = [], [], 0

    def visit(key, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset) and (obj.is_virtual or obj.id.get_create_plist().get_external_count()):
            outside.append(f"the array {key!r} keeps its data in another file")
        elif isinstance(obj, h5py.Dataset) and not problems:
            declared = int(np.prod(obj.shape or (), dtype=np.float64)) * obj.dtype.itemsize
            storage = obj.id.get_storage_size()
            total += declared
            if declared > max(storage * (_RATIO if obj.compression else 1), 64):
                problems.append(f"the array {key!r} declares shape {tuple(obj.shape)} ({_gib(declared)}) but the "
                                f"file stores {storage:,} bytes for it")

    def external(f, key):
        if isinstance(link := f.get(key, getlink=True), h5py.ExternalLink):
            outside.append(f"{key!r} is a link to the file {link.filename!r}")
    try:
        with h5py.File(source, "r") as f:
            f.visit_links(lambda key: external(f, key))
            if not outside:
                f.visititems(visit)
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError for broken files
        raise CheckpointError(f"{name}: cannot be loaded: the file is truncated or corrupt (was the save interrupted?)"
                              f"; its HDF5 structure cannot be read ({exc}). Use an earlier checkpoint.") from None
    if outside:
        raise CheckpointError(f"{name}: refused: {outside[0]}, outside this checkpoint; a checkpoint holds its own "
                              "data, and loading it would read that file. Use a checkpoint you saved yourself.")
    if not problems and total > stored * _RATIO + (1 << 20):
        problems.append(f"its arrays declare {_gib(total)} in a file of {stored:,} bytes")
    if problems:
        raise CheckpointError(f"{name}: refused before loading: {problems[0]}. Loading it would allocate memory for "
                              "data that is not there (a crafted or damaged file); use an earlier checkpoint.")


# Callables that have no place in a model config: the standard library, the numeric libraries,
# Keras's own non-modelling utilities, and lookup layers that read a file named in the config.
_FORBIDDEN = frozenset(sys.stdlib_module_names) | {"numpy", "tensorflow", "tf", "jax", "torch", "h5py", "IPython"}
_KERAS_UNSAFE = {"enable_unsafe_deserialization", "get_file", "TFSMLayer", "load_model", "load_weights",
                 "save_model", "save_weights", "model_from_json", "deserialize_keras_object", "clear_session"}
_KERAS_UTILS = {"utils", "saving", "config", "export", "backend", "file_utils", "io_utils"}


def _judge(entry: dict) -> str | None:
    module, class_name, inner = entry.get("module"), entry.get("class_name"), entry.get("config")
    is_function = "function" in (class_name, entry.get("registered_name"))
    name = inner if is_function and isinstance(inner, str) else class_name
    if not isinstance(module, str) or not module or not isinstance(name, str):
        return None
    root, dotted = module.split(".")[0], f"{module}.{name}".replace("keras.src.", "keras.")
    if root == "keras":
        if name in _KERAS_UNSAFE or (is_function and _KERAS_UTILS & set(module.split("."))):
            return dotted
        for key in ("vocabulary", "stop_words", "idf_weights"):
            if class_name.endswith(("Lookup", "Vectorization")) and isinstance((inner or {}).get(key), str):
                return f"keras.layers.{class_name}, reading the file {inner[key]!r} as its {key}"
        return None
    keras_own = root == "builtins" and any(callable(getattr(m, name, None)) for m in (
        keras.activations, keras.losses, keras.metrics, keras.initializers, keras.regularizers, keras.constraints))
    return dotted if root in _FORBIDDEN and not keras_own else None


def _walk(node):  # every dict in a config, depth first
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    yield from [node] if isinstance(node, dict) else []
    for child in children:
        yield from _walk(child)


def _screen_keras(path: Path) -> dict:
    """Member sizes, the weights' declared sizes and the config, checked before Keras reads the archive."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > _RATIO * max(info.compress_size, 1024):
                raise CheckpointError(f"{path}: refused before loading: member {info.filename!r} would expand from "
                                      f"{info.compress_size:,} to {_gib(info.file_size)} (a zip bomb?)")
            if info.filename.endswith(".h5"):
                with archive.open(info) as member:
                    _check_h5_sizes(member, f"{path} (member {info.filename})", info.file_size)
        if archive.getinfo("config.json").file_size > 64 << 20:
            raise CheckpointError(f"{path}: refused before loading: config.json is too large for a model")
        try:
            config = json.loads(archive.read("config.json"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{path}: config.json is not valid JSON ({exc}); the file is corrupt") from None
    bad = list(dict.fromkeys(filter(None, (_judge(e) for e in _walk(config) if isinstance(e.get("class_name"), str)))))
    if bad:
        raise CheckpointError(
            f"{path}: refused: this file asks to run {bad[0]} when loaded; keraslab never runs code from a "
            "checkpoint. Nothing from it was executed. Do not load this file: it was not written by Keras for a "
            "model (it was crafted or altered).")
    return config


def _missing_class(config: dict, name: str) -> str:
    short = name.rsplit(">", 1)[-1]
    entries = [e for e in _walk(config) if short in (e.get("class_name"), str(e.get("registered_name")).split(">")[-1])]
    module = next((e["module"] for e in entries if isinstance(e.get("module"), str)), None)
    registered = next((e["registered_name"] for e in entries if ">" in str(e.get("registered_name"))), "")
    fix = (f"pass custom_objects={{{short!r}: {short}}}, or decorate the class with "
           "@keras.saving.register_keras_serializable() (and give it get_config) in a module you import before loading")
    if module and module not in ("__main__", "builtins") and not module.startswith("keras"):
        return (f"the file uses {short!r}, defined in the module {module!r}, which this process has not imported: "
                f"run `import {module}` before loading, or {fix}")
    package = registered.split(">")[0]
    if package and package != "Custom":
        return (f"the file uses {short!r}, registered by the package {package!r} (as {registered!r}), which this "
                f"process has not imported: import the module of {package!r} that defines it before loading, or {fix}")
    return (f"the file uses {short!r}, which was defined in a notebook or script, not in an importable module, so "
            f"only code that defines it can reopen the file: run that definition first and {fix}")


def _explain(path: Path, exc: Exception, config: dict | None) -> CheckpointError:
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    missing = re.search(r"(?:Could not locate|Cannot deserialize object of type|Could not deserialize) "
                        r"(?:class |function )?[`'\"]?([A-Za-z_][\w.>]*)", text)
    if "lambda" in low and ("safe_mode" in low or "unsafe" in low):
        cause = ("it contains a Lambda layer, whose Python code would run when loaded; refused in safe mode. Only "
                 "load it with safe_mode=False if you wrote the file yourself")
    elif missing and config is not None:
        cause = _missing_class(config, missing.group(1))
    elif "truncated" in low or "unable to" in low or "signature" in low or "eof" in low:
        cause = "the file is truncated or corrupt (was the save interrupted?); use an earlier checkpoint"
    elif "shape" in low or "layer" in low or "expected" in low:
        cause = "its weights do not fit this model (another architecture?)"
    else:
        cause = "the file is corrupt or not a checkpoint of this model"
    return CheckpointError(f"{path}: cannot be loaded: {cause}. ({text[:500]})")


def load_model(path: str | os.PathLike[str], *, custom_objects: dict | None = None, compile: bool = True):
    """``keras.saving.load_model(path, safe_mode=True)`` after the checks above; CheckpointError if refused."""
    path = check_checkpoint(path)
    if not path.name.endswith(".keras"):
        raise CheckpointError(f"{path}: load_model takes a whole model ('.keras'); for weights use load_weights")
    verify_digest(path)
    config = _screen_keras(path)
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects, compile=compile, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files
        raise _explain(path, exc, config) from None


def load_weights(model: keras.Model, path: str | os.PathLike[str]) -> keras.Model:
    """``model.load_weights(path)`` after the same checks; returns ``model``."""
    path = check_checkpoint(path)
    verify_digest(path)
    config = _screen_keras(path) if path.name.endswith(".keras") else None
    if config is None:
        _check_h5_sizes(path, str(path), path.stat().st_size)
    try:
        model.load_weights(path)
    except Exception as exc:
        raise _explain(path, exc, config) from None
    return model


def read_json(path: str | os.PathLike[str]) -> dict:
    """Read a small JSON state file; CheckpointError naming it when it is truncated or corrupt."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt JSON ({exc}); delete it to start over") from None
