"""Inspect a checkpoint before Keras reads it: refuse hostile configs and sizes the file cannot back.

Keras's safe mode refuses most hostile files, but reports them in words that
invite the user to load them anyway ("pass custom_objects"), and it allocates
whatever a weights file declares before noticing that the bytes are missing.
The checks here run first, on the file's own structure, and raise
:class:`ScreeningError` (re-raised as ``CheckpointError`` by
:mod:`keraslab.saving`):

- :func:`hostile_callables` walks ``config.json`` for anything that would run
  code or touch files outside modelling when loaded: a callable from Python's
  standard library, NumPy or TensorFlow (``os.system``, ``subprocess.Popen``,
  ``builtins.exec``), a Keras utility (``enable_unsafe_deserialization``,
  ``get_file``, ``TFSMLayer``), a lookup layer reading a vocabulary file;
- :func:`check_h5_sizes` compares every array an HDF5 weights file declares
  with the bytes it stores, before anything is allocated;
- :func:`check_zip_sizes` does the same for the members of a ``.keras``
  archive and for the weights file inside it;
- :func:`describe_missing_class` says where a class Keras cannot find was
  defined, for the legitimate "custom class not imported" case.

Example::

    from keraslab import screening
    with zipfile.ZipFile("model.keras") as z:
        config = json.loads(z.read("config.json"))
    screening.hostile_callables(config)    # -> [] for an ordinary model
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "ScreeningError",
    "hostile_callables",
    "refuse_hostile",
    "check_h5_sizes",
    "check_zip_sizes",
    "read_config",
    "describe_missing_class",
]

MAX_CONFIG_BYTES = 64 << 20  # a config.json larger than this is not a model description
MAX_DATASETS = 200_000
MAX_COMPRESSION_RATIO = 200  # zip members / compressed HDF5 chunks may expand this much, no more

# Modules whose callables have no place in a model config: the standard library and the big
# numeric libraries. (Custom layers live in the user's own modules and stay allowed.)
_FORBIDDEN_ROOTS = frozenset(sys.stdlib_module_names) | {
    "numpy",
    "tensorflow",
    "tf",
    "jax",
    "torch",
    "h5py",
    "pandas",
    "scipy",
    "IPython",
    "ipykernel",
    "pip",
    "setuptools",
}
# Keras's own non-modelling APIs (saving, downloading, unsafe switches) and layers that load code.
_UNSAFE_KERAS_NAMES = frozenset(
    {
        "enable_unsafe_deserialization",
        "get_file",
        "TFSMLayer",
        "load_model",
        "load_weights",
        "save_model",
        "save_weights",
        "model_from_json",
        "deserialize_keras_object",
        "serialize_keras_object",
        "register_keras_serializable",
        "clear_session",
        "load_img",
        "save_img",
        "image_dataset_from_directory",
        "text_dataset_from_directory",
        "audio_dataset_from_directory",
    }
)
_UNSAFE_KERAS_MODULE_PARTS = ("utils", "saving", "config", "export", "backend", "file_utils", "io_utils")
_VOCABULARY_LAYERS = {"StringLookup", "IntegerLookup", "TextVectorization"}
_VOCABULARY_KEYS = ("vocabulary", "stop_words", "idf_weights")


class ScreeningError(ValueError):
    """A checkpoint asks to run something when loaded, or declares more data than it holds."""


def _keras_builtin_function(name: str) -> bool:
    """Keras saves its own functions (``relu``, ``mse``) with module ``builtins``."""
    import keras

    for mod in (
        keras.activations,
        keras.losses,
        keras.metrics,
        keras.initializers,
        keras.regularizers,
        keras.constraints,
        keras.optimizers,
    ):
        if callable(getattr(mod, name, None)):
            return True
    return False


def _judge(entry: dict) -> str | None:
    """The callable ``entry`` names, when loading it would run something unsafe."""
    module = entry.get("module")
    class_name = entry.get("class_name")
    registered = entry.get("registered_name")
    inner = entry.get("config")
    is_function = class_name == "function" or registered == "function"
    name = inner if is_function and isinstance(inner, str) else class_name
    if not isinstance(name, str):
        return None
    dotted = f"{module}.{name}" if isinstance(module, str) and module else name
    if isinstance(module, str) and module:
        root = module.split(".", 1)[0]
        if root == "keras" or root.startswith("keras_"):
            if name in _UNSAFE_KERAS_NAMES or (
                is_function and any(part in module.split(".") for part in _UNSAFE_KERAS_MODULE_PARTS)
            ):
                return dotted.replace("keras.src.", "keras.")
            if class_name in _VOCABULARY_LAYERS and isinstance(inner, dict):
                for key in _VOCABULARY_KEYS:
                    if isinstance(inner.get(key), str):
                        return f"keras.layers.{class_name}, reading the file {inner[key]!r} as its {key}"
            return None
        if root == "builtins" and is_function and _keras_builtin_function(name):
            return None
        if root in _FORBIDDEN_ROOTS:
            return dotted
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">", 1)[0].split(".", 1)[0]
        if package in _FORBIDDEN_ROOTS:
            return registered.replace(">", ".")
    return None


def hostile_callables(config) -> list[str]:
    """Every callable in a Keras config that would run code outside modelling when loaded.

    Args:
        config: the parsed ``config.json`` of a ``.keras`` file (any nesting).

    Returns:
        Dotted names such as ``"os.system"``, in the order found; ``[]`` for an
        ordinary model (Keras layers, losses, metrics, registered custom classes).

    >>> hostile_callables({"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}})
    []
    >>> hostile_callables({"module": "os", "class_name": "function", "config": "system", "registered_name": "function"})
    ['os.system']
    """
    found: list[str] = []
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("class_name"), str):
                bad = _judge(node)
                if bad is not None and bad not in found:
                    found.append(bad)
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def refuse_hostile(path: str | os.PathLike[str], config) -> None:
    """Raise :class:`ScreeningError` when ``config`` names a hostile callable (see :func:`hostile_callables`)."""
    bad = hostile_callables(config)
    if bad:
        more = f" (and {', '.join(bad[1:4])})" if len(bad) > 1 else ""
        raise ScreeningError(
            f"{path}: refused: this file asks to run {bad[0]}{more} when loaded; keraslab never runs code from a "
            "checkpoint. Nothing from it was executed. Do not load this file: it was not written by Keras for a "
            "model (it was crafted or altered)."
        )


def read_config(archive: zipfile.ZipFile, path: str | os.PathLike[str]):
    """The parsed ``config.json`` of an open ``.keras`` archive, size-checked first."""
    info = archive.getinfo("config.json")
    if info.file_size > MAX_CONFIG_BYTES:
        raise ScreeningError(
            f"{path}: config.json declares {info.file_size:,} bytes (more than {MAX_CONFIG_BYTES:,}); "
            "refused: not a model description"
        )
    try:
        return json.loads(archive.read("config.json"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScreeningError(f"{path}: config.json is not valid JSON ({exc}); the file is corrupt") from None


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n:,} bytes"


def _oversized(name: str, dataset) -> tuple[int, str | None]:
    """The bytes one HDF5 dataset declares, and what is wrong when its stored bytes cannot back them."""
    shape = tuple(dataset.shape) if dataset.shape else ()
    declared = int(np.prod(shape, dtype=np.float64)) * dataset.dtype.itemsize if shape else dataset.dtype.itemsize
    storage = dataset.id.get_storage_size()
    allowed = storage * (MAX_COMPRESSION_RATIO if dataset.compression else 1)
    if declared > max(allowed, 64):
        return declared, (
            f"the array {name!r} declares shape {shape} ({_gib(declared)}) but the file stores {storage:,} bytes for it"
        )
    return declared, None


def _declared_h5_bytes(source, path) -> tuple[int, list[str]]:
    """Walk the file's datasets (metadata only): the bytes they declare, and the first problem found."""
    import h5py

    total, count, problem = 0, 0, []

    def visit(name, obj):
        nonlocal total, count
        if not isinstance(obj, h5py.Dataset) or problem:
            return
        count += 1
        if count > MAX_DATASETS:
            problem.append(f"more than {MAX_DATASETS:,} arrays")
            return
        declared, wrong = _oversized(name, obj)
        if wrong:
            problem.append(wrong)
        total += declared

    try:
        with h5py.File(source, "r") as f:
            f.visititems(visit)
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError for broken files
        raise ScreeningError(
            f"{path}: cannot be loaded: the file is truncated or corrupt (was the save interrupted?); its HDF5 "
            f"structure cannot be read ({type(exc).__name__}: {exc}). Use an earlier checkpoint."
        ) from None
    return total, problem


def check_h5_sizes(source, path: str | os.PathLike[str], *, stored_bytes: int) -> int:
    """Refuse an HDF5 file whose arrays declare more data than the file stores.

    Reads only HDF5 metadata (shapes, types, allocated storage); allocates no array.

    Args:
        source: a path or a seekable binary file object (e.g. a zip member).
        path: the name to use in messages.
        stored_bytes: the size of the HDF5 file in bytes.

    Returns:
        The total bytes the arrays declare.

    Raises:
        ScreeningError: an array declares more bytes than are stored for it
            (beyond :data:`MAX_COMPRESSION_RATIO` when compressed), or the
            arrays together declare more than the file holds.

    Example::

        screening.check_h5_sizes("model.weights.h5", "model.weights.h5", stored_bytes=os.path.getsize(...))
    """
    total, problem = _declared_h5_bytes(source, path)
    if not problem and total > stored_bytes * MAX_COMPRESSION_RATIO + (1 << 20):
        problem.append(f"its arrays declare {_gib(total)} in a file of {stored_bytes:,} bytes")
    if problem:
        raise ScreeningError(
            f"{path}: refused before loading: {problem[0]}. Loading it would allocate memory for data that is not "
            "there (a crafted or damaged file); use an earlier checkpoint."
        )
    return total


def check_zip_sizes(archive: zipfile.ZipFile, path: str | os.PathLike[str]) -> None:
    """Refuse a ``.keras`` archive whose members, or embedded weights, declare more than they store."""
    size = Path(path).stat().st_size
    declared = 0
    for info in archive.infolist():
        declared += info.file_size
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1024
        ):
            raise ScreeningError(
                f"{path}: refused before loading: member {info.filename!r} would expand from "
                f"{info.compress_size:,} to {_gib(info.file_size)} (a zip bomb?); use an earlier checkpoint."
            )
    if declared > MAX_COMPRESSION_RATIO * size + (1 << 20):
        raise ScreeningError(
            f"{path}: refused before loading: its members declare {_gib(declared)} in a {size:,}-byte archive"
        )
    for info in archive.infolist():
        if info.filename.endswith(".h5"):
            with archive.open(info) as member:
                check_h5_sizes(member, f"{path} (member {info.filename})", stored_bytes=info.file_size)


def _entries(config, class_name: str) -> list[dict]:
    out, stack = [], [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            registered = node.get("registered_name")
            if node.get("class_name") == class_name or (
                isinstance(registered, str) and registered.rsplit(">", 1)[-1] == class_name
            ):
                out.append(node)
            elif node.get("class_name") == "function" and node.get("config") == class_name:
                out.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def describe_missing_class(config, name: str) -> str:
    """Explain a class or function Keras could not locate: where it was defined and how to provide it.

    Args:
        config: the parsed ``config.json``.
        name: the name from Keras's "Could not locate class 'X'" message
            (may be a registered name like ``"Custom>X"``).

    Returns:
        A sentence for the error message.
    """
    short = name.rsplit(">", 1)[-1]
    entries = _entries(config, short) or _entries(config, name)
    module = next((e.get("module") for e in entries if isinstance(e.get("module"), str)), None)
    registered = next((e.get("registered_name") for e in entries if isinstance(e.get("registered_name"), str)), None)
    fix = (
        f"pass custom_objects={{{short!r}: {short}}}, or decorate the class with "
        "@keras.saving.register_keras_serializable() (and give it get_config) in a module you import before loading"
    )
    if module and module not in ("__main__", "builtins") and not module.startswith("keras"):
        return (
            f"the file uses {short!r}, defined in the module {module!r}, which this process has not imported: "
            f"run `import {module}` before loading (its @keras.saving.register_keras_serializable() registers it), "
            f"or {fix}"
        )
    package = registered.split(">", 1)[0] if registered and ">" in registered else None
    if package and package != "Custom":
        return (
            f"the file uses {short!r}, registered by the package {package!r} (as {registered!r}), which this "
            f"process has not imported: import the module of {package!r} that defines it before loading (its "
            f"@keras.saving.register_keras_serializable(package={package!r}) registers it), or {fix}"
        )
    where = f" (saved under the registered name {registered!r})" if registered not in (None, "function", short) else ""
    return (
        f"the file uses {short!r}{where}, which was defined in a notebook or script, not in an importable module, "
        f"so only code that defines it can reopen the file: run that definition first and {fix}. "
        "To reopen it anywhere, move the class into a .py module"
    )
