"""Data sets for the lessons: iris (scikit-learn), MNIST and Fashion-MNIST (IDX files).

MNIST and Fashion-MNIST are read from the standard IDX files, gzipped or raw,
and returned exactly as ``keras.datasets.<name>.load_data()`` returns them:
``((x_train, y_train), (x_test, y_test))`` with ``uint8`` images of shape
``(n, 28, 28)`` and ``uint8`` labels of shape ``(n,)``.

Where the files are looked for, first match wins:

1. the ``data_dir`` argument;
2. the ``KERASLAB_DATA_DIR`` environment variable;
3. the repository's ``data/`` folder;
4. a download through ``keras.datasets`` (cached in ``~/.keras/datasets``).

In each folder ``D`` the four files may sit in ``D/<name>/`` (``D/mnist/``,
``D/fashion-mnist/``) or in ``D`` itself.

Example::

    from keraslab.data import load_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train.shape, x_train.dtype
    # -> ((60000, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from keraslab import paths

__all__ = [
    "DataFileError",
    "DataNotFoundError",
    "read_idx",
    "load_idx_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "load_iris_split",
    "check_arrays",
    "verify_dataset",
    "KNOWN_DIGESTS",
    "FASHION_MNIST_CLASSES",
    "IRIS_CLASSES",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IMAGE_MAGIC = 0x00000803  # uint8, 3 dimensions
_LABEL_MAGIC = 0x00000801  # uint8, 1 dimension
_NUM_CLASSES = 10


# SHA-256 of the *decompressed* arrays (``array.tobytes()``) of the real data sets: the same
# for any compression, for raw IDX files, and for what keras.datasets downloads.
KNOWN_DIGESTS = {
    ("mnist", "train_images"): "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    ("mnist", "train_labels"): "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    ("mnist", "test_images"): "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    ("mnist", "test_labels"): "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    ("fashion-mnist", "train_images"): "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    ("fashion-mnist", "train_labels"): "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    ("fashion-mnist", "test_images"): "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    ("fashion-mnist", "test_labels"): "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
_REAL_COUNTS = {"train": 60000, "test": 10000}
_PRETTY = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_PART_WORDS = {
    "train_images": "training images",
    "train_labels": "training labels",
    "test_images": "test images",
    "test_labels": "test labels",
}


class DataFileError(ValueError):
    """A data file exists but is not what it should be (wrong format, truncated, ...)."""


class DataNotFoundError(FileNotFoundError):
    """No copy of a data set could be found or downloaded."""


MAX_IDX_BYTES = 1 << 30  # no IDX file this course reads is larger (MNIST's training images: 47 MB)


def _max_idx_bytes() -> int:
    return int(os.environ.get("KERASLAB_MAX_IDX_BYTES", MAX_IDX_BYTES))


def _parse_header(path: Path, raw: bytes | bytearray, expected_magic: int | None) -> tuple[int, tuple[int, ...]] | None:
    """``(header_len, shape)`` once ``raw`` holds the whole header, ``None`` while it is too short."""
    if len(raw) < 4:
        return None
    (magic,) = struct.unpack(">I", bytes(raw[:4]))
    zero, dtype_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0 or dtype_code != 0x08 or ndim == 0:
        raise DataFileError(f"{path}: not a uint8 IDX file: expected magic number 0x000008NN, found 0x{magic:08x}")
    if expected_magic is not None and magic != expected_magic:
        kind = {_IMAGE_MAGIC: "images", _LABEL_MAGIC: "labels"}.get(expected_magic, "data")
        raise DataFileError(
            f"{path}: expected an IDX {kind} file (magic 0x{expected_magic:08x}), "
            f"found magic 0x{magic:08x} ({ndim} dimension(s)); are two files swapped?")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        return None
    shape = struct.unpack(f">{ndim}I", bytes(raw[4:header_len]))
    declared = header_len + math.prod(shape)
    if declared > _max_idx_bytes():
        raise DataFileError(
            f"{path}: refused: the header declares shape {shape} = {declared:,} bytes, more than the "
            f"{_max_idx_bytes():,} this loader accepts (KERASLAB_MAX_IDX_BYTES); not an MNIST-style file. "
            "Replace it with a fresh copy.")
    return header_len, shape


def _decompress_bounded(path: Path, expected_magic: int | None) -> bytearray:
    """Stream-decompress a gzip IDX file, never producing more than its header declares (plus one byte)."""
    out = bytearray()
    limit: int | None = None
    decomp = zlib.decompressobj(wbits=31)
    fed = False  # whether the current gzip member has received any input
    with open(path, "rb") as f:
        pending = b""
        while True:
            if not pending:
                pending = f.read(1 << 16)
                if not pending:
                    break
            budget = (limit + 1 - len(out)) if limit is not None else 4096
            out += decomp.decompress(pending, max(budget, 1))
            fed = True
            pending = decomp.unconsumed_tail
            if decomp.eof:  # a gzip file may hold several members, one after the other
                pending = decomp.unused_data + pending
                if pending and not pending.startswith(b"\x1f\x8b"[: len(pending)]):
                    raise DataFileError(f"{path}: trailing bytes after the end of its gzip data (not another gzip "
                                        "member): the file was damaged or appended to. Replace it with a fresh copy.")
                decomp = zlib.decompressobj(wbits=31)
                fed = False
            if limit is None:
                parsed = _parse_header(path, out, expected_magic)
                if parsed is not None:
                    limit = parsed[0] + math.prod(parsed[1])
            if limit is not None and len(out) > limit:
                raise DataFileError(
                    f"{path}: decompresses to more than the {limit:,} bytes its header declares (trailing bytes, "
                    "or a gzip bomb); stopped there. Replace the file.")
    if fed and not decomp.eof:
        raise DataFileError(
            f"{path}: cannot be decompressed (the gzip stream ends early); the file is truncated. "
            "Replace it with a fresh copy.")
    return out


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into a ``uint8`` array, within the memory its header declares.

    A gzip file is decompressed as a stream and stopped as soon as it yields
    more than its header declares, and a header declaring more than
    :data:`MAX_IDX_BYTES` is refused before anything is allocated, so a small
    hostile file (a gzip bomb) gives a clear error, not a ``MemoryError``.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.
        expected_magic: ``0x00000803`` for images, ``0x00000801`` for labels;
            ``None`` accepts any uint8 IDX file.

    Returns:
        An array shaped as the header says.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFileError: not an IDX file, the wrong kind of IDX file, not uint8,
            shorter/longer than its header says, or declaring too much. The
            message names the file, what was expected and what was found.

    Example::

        labels = read_idx("data/mnist/t10k-labels-idx1-ubyte.gz", expected_magic=0x801)
    """
    path = Path(path)
    if not path.is_file():
        if os.path.lexists(path):  # a device such as /dev/zero, a folder, a broken link
            what = f"a link to {os.readlink(path)}" if path.is_symlink() else "a folder or device"
            raise DataFileError(f"{path}: not a regular file ({what}); replace it with the IDX file itself.")
        raise DataNotFoundError(f"{path}: file not found")
    try:
        if path.suffix == ".gz":
            raw = _decompress_bounded(path, expected_magic)
        else:
            raw = _read_raw_bounded(path, expected_magic)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(
            f"{path}: cannot be decompressed ({exc}); the file is truncated or not gzip. Replace it with a fresh copy."
        ) from exc
    except MemoryError:
        raise DataFileError(f"{path}: too large to read into memory on this machine") from None
    if len(raw) < 4:
        raise DataFileError(f"{path}: expected an IDX header (at least 4 bytes), found {len(raw)} bytes")
    parsed = _parse_header(path, raw, expected_magic)
    if parsed is None:
        ndim = raw[3]
        raise DataFileError(f"{path}: header says {ndim} dimensions but the file ends at byte {len(raw)}")
    header_len, shape = parsed
    expected = math.prod(shape)
    found = len(raw) - header_len
    if found != expected:
        raise DataFileError(
            f"{path}: header says shape {shape} = {expected} bytes of data, found {found} bytes "
            f"({'truncated' if found < expected else 'trailing bytes'}); replace the file.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape).copy()


def _read_raw_bounded(path: Path, expected_magic: int | None) -> bytearray:
    """An uncompressed IDX file's bytes, refused before reading when it is longer than its header says."""
    with open(path, "rb") as f:
        head = f.read(4 + 4 * 255)
    parsed = _parse_header(path, head, expected_magic)
    size = path.stat().st_size
    if parsed is not None and size > parsed[0] + math.prod(parsed[1]):
        raise DataFileError(
            f"{path}: header says shape {parsed[1]} = {math.prod(parsed[1])} bytes of data, found "
            f"{size - parsed[0]} bytes (trailing bytes); replace the file.")
    return bytearray(path.read_bytes())


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _read_sums(folder: Path) -> dict[str, str]:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return {}
    out = {}
    for line in sums.read_text(errors="replace").splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and len(parts[0]) == 64:
            out[parts[1].lstrip("*")] = parts[0].lower()
    return out


def _identify(digest: str) -> tuple[str, str] | None:
    return next((key for key, value in KNOWN_DIGESTS.items() if value == digest), None)


def verify_dataset(name: str, arrays: dict[str, np.ndarray], files: dict[str, Path] | None = None) -> None:
    """Check the four arrays of ``name`` against the real data set's digests (and ``SHA256SUMS``, if beside them).

    Arrays with the real set's sizes (60000 training / 10000 test samples)
    must match its SHA-256 digests exactly; arrays of other sizes (your own
    subset) are accepted as they are, unless they look like the real test set
    sitting in the training files (or the other way round).

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"`` (other names: only ``SHA256SUMS`` is checked).
        arrays: ``{"train_images", "train_labels", "test_images", "test_labels"}`` -> ``uint8`` arrays.
        files: where each array came from, for messages and for the ``SHA256SUMS``
            beside them; ``None`` for a download.

    Raises:
        DataFileError: naming the file that differs and what it probably is
            ("these look like Fashion-MNIST training images", "train and test
            look swapped").

    Example::

        verify_dataset("mnist", {"train_images": x_train, ...}, files)
    """
    files = files or {}
    folder_sums = {}
    for key, file in files.items():
        sums = folder_sums.setdefault(file.parent, _read_sums(file.parent))
        listed = sums.get(file.name)
        if listed is not None and _sha256_file(file) != listed:
            guess = _guess(name, key, arrays.get(key))
            raise DataFileError(
                f"{file}: its SHA-256 differs from the one {file.parent / 'SHA256SUMS'} lists for it{guess}. "
                f"Replace it with the real {_PRETTY.get(name, name)} file.")
    if name not in _PRETTY:
        return
    for key, array in arrays.items():
        split = key.split("_")[0]
        expected = KNOWN_DIGESTS[(name, key)]
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
        if digest == expected:
            continue
        where = files.get(key, f"the downloaded {_PART_WORDS[key]}")
        other = "test" if split == "train" else "train"
        if _identify(digest) is not None or len(array) == _REAL_COUNTS[split]:
            raise DataFileError(
                f"{where}: not the real {_PRETTY[name]} {_PART_WORDS[key]} (SHA-256 of the decompressed data "
                f"{digest[:12]}..., expected {expected[:12]}...){_guess(name, key, array) or '; damaged or altered'}. "
                f"Replace it with the real {_PRETTY[name]} file.")
        if len(array) == _REAL_COUNTS[other] and len(array) != _REAL_COUNTS[split]:
            raise DataFileError(
                f"{where}: holds {len(array)} samples, as many as the real {_PRETTY[name]} {other} set: "
                "train and test look swapped. Put the t10k-* files in the test slots and train-* in the training slots."
            )


def _guess(name: str, key: str, array: np.ndarray | None) -> str:
    if array is None:
        return ""
    found = _identify(hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest())
    if found is None:
        return ""
    other_name, other_key = found
    if other_name != name:
        return f": these look like {_PRETTY[other_name]} {_PART_WORDS[other_key]}"
    if other_key != key:
        if other_key.split("_")[1] == key.split("_")[1]:
            return f": these look like the {_PART_WORDS[other_key]}: train and test look swapped"
        return f": these look like the {_PART_WORDS[other_key]} (images and labels swapped?)"
    return ""


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if os.path.lexists(folder / name):  # read_idx says if it is not a regular file
            return folder / name
    return None


def _candidate_dirs(name: str, data_dir: str | os.PathLike[str] | None) -> list[tuple[str, Path]]:
    roots: list[tuple[str, Path]] = []
    if data_dir is not None:
        roots.append(("data_dir argument", Path(data_dir).expanduser()))
    env = os.environ.get("KERASLAB_DATA_DIR")
    if env:
        roots.append(("KERASLAB_DATA_DIR", Path(env).expanduser()))
    roots.append(("repository data/", paths.repo_root() / "data"))
    out = []
    for label, root in roots:
        out.append((label, root / name))
        out.append((label, root))
    return out


def load_idx_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    image_shape: tuple[int, ...] = (28, 28),
    num_classes: int = _NUM_CLASSES,
    verify: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """Load the four IDX files of data set ``name`` from the first folder that has them.

    Returns ``None`` when no searched folder holds a complete set, so the caller
    can fall back to a download. Validates what it reads (see :func:`read_idx`),
    then the image size, the image/label counts, the label range and, with
    ``verify``, the digests (see :func:`verify_dataset`).
    """
    for _label, folder in _candidate_dirs(name, data_dir):
        files = {key: _find_file(folder, stem) for key, stem in _IDX_FILES.items()}
        if not any(files.values()):
            continue
        missing = [_IDX_FILES[k] + "[.gz]" for k, v in files.items() if v is None]
        if missing:
            raise DataNotFoundError(
                f"{folder}: incomplete {name} folder, missing {', '.join(missing)}. Copy all four IDX files there.")
        arrays = {}
        for key, file in files.items():
            magic = _IMAGE_MAGIC if key.endswith("images") else _LABEL_MAGIC
            arrays[key] = read_idx(file, expected_magic=magic)
        for split in ("train", "test"):
            images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
            if images.shape[1:] != image_shape:
                raise DataFileError(
                    f"{files[f'{split}_images']}: expected images of shape {image_shape}, found {images.shape[1:]}")
            if len(images) != len(labels):
                raise DataFileError(
                    f"{files[f'{split}_images']} has {len(images)} images but "
                    f"{files[f'{split}_labels']} has {len(labels)} labels; "
                    "the two files must come from the same release.")
            if labels.size and labels.max() >= num_classes:
                raise DataFileError(
                    f"{files[f'{split}_labels']}: labels must lie in 0..{num_classes - 1}, found {int(labels.max())}")
        if verify:
            verify_dataset(name, arrays, files)
        return (
            (arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]))
    return None


def _load(name: str, keras_loader: str, data_dir, download: bool):
    found = load_idx_dataset(name, data_dir)
    if found is not None:
        return found
    searched = "\n".join(f"  - {p} ({label})" for label, p in _candidate_dirs(name, data_dir)[::2])
    hint = (
        f"{name} was not found. Searched:\n{searched}\n"
        f"Put the four IDX files ({', '.join(s + '.gz' for s in _IDX_FILES.values())}) "
        f"in one of those folders, or set KERASLAB_DATA_DIR to a folder that has a '{name}/' "
        "subfolder with them (in this project: KERASLAB_DATA_DIR=../shared/data).")
    if not download:
        raise DataNotFoundError(hint)
    import keras

    try:
        loaded = getattr(keras.datasets, keras_loader).load_data()
    except Exception as exc:  # network errors come in many types; all mean the same here
        raise DataNotFoundError(
            f"{hint}\nThe download through keras.datasets.{keras_loader} failed too: {type(exc).__name__}: {exc}"
        ) from None
    (x_train, y_train), (x_test, y_test) = loaded
    verify_dataset(
        name, {"train_images": x_train, "train_labels": y_train, "test_images": x_test, "test_labels": y_test}
    )
    return loaded


def load_mnist(data_dir: str | os.PathLike[str] | None = None, *, download: bool = True):
    """MNIST handwritten digits, as ``keras.datasets.mnist.load_data()`` returns them.

    Args:
        data_dir: a folder holding the IDX files (or a ``mnist/`` subfolder with them).
        download: fall back to ``keras.datasets.mnist.load_data()`` when no files are found.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: 60000 and 10000 ``uint8`` images
        of 28x28 and their ``uint8`` labels 0-9.
    """
    return _load("mnist", "mnist", data_dir, download)


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None, *, download: bool = True):
    """Fashion-MNIST (Zalando), as ``keras.datasets.fashion_mnist.load_data()`` returns it.

    Same arguments and return value as :func:`load_mnist`; class names are in
    :data:`FASHION_MNIST_CLASSES`.
    """
    return _load("fashion-mnist", "fashion_mnist", data_dir, download)


def load_iris_split(test_size: int = 30, seed: int = 42):
    """Iris (150 flowers, 4 features, 3 classes) split into train and test, stratified.

    scikit-learn stores iris sorted by class, so the split shuffles (with a fixed
    ``seed``); the training rows come out shuffled too, which matters because
    ``fit(validation_split=...)`` takes the *last* rows as validation data.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: ``float32`` features and ``int64``
        labels 0-2; 120 and 30 rows by default.
    """
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris()
    x = iris.data.astype("float32")
    y = iris.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed, shuffle=True
    )
    return (x_train, y_train), (x_test, y_test)


def check_arrays(
    x,
    y,
    *,
    num_classes: int | None = None,
    sample_shape: tuple[int, ...] | None = None,
    name: str = "x",
) -> None:
    """Check training inputs before ``fit`` starts, with an error that names the problem and the fix.

    Args:
        x: inputs, first dimension = samples.
        y: integer class labels, one per sample.
        num_classes: labels must lie in ``0 .. num_classes - 1``.
        sample_shape: the shape of one sample, e.g. ``(28, 28)``.
        name: what to call ``x`` in messages.

    Raises:
        ValueError / TypeError: empty data, mismatched counts, wrong sample shape,
            non-numeric inputs, NaN or inf, non-integer or out-of-range labels.

    >>> import numpy as np
    >>> check_arrays(np.zeros((2, 4)), np.array([0, 2]), num_classes=3, sample_shape=(4,))
    >>> check_arrays(np.zeros((2, 4)), np.array([0, 3]), num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: labels must lie in 0..2, found 3 (for sparse_categorical_crossentropy, labels are class indices)
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{name} is empty: no samples to train on")
    if len(x) != len(y):
        raise ValueError(f"{name} has {len(x)} samples but the labels have {len(y)}; they must match one to one")
    if sample_shape is not None and tuple(x.shape[1:]) != tuple(sample_shape):
        raise ValueError(
            f"each sample of {name} should have shape {tuple(sample_shape)}, found {tuple(x.shape[1:])} "
            f"(full shape {x.shape}); reshape the data or build the model for this shape")
    if x.dtype.kind not in "uifb":
        raise TypeError(f"{name} must be numeric, found dtype {x.dtype}; convert it with .astype('float32')")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); clean or impute them before training")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.mod(y, 1), 0).all():
            raise ValueError(
                "labels are not whole numbers (were they divided, e.g. y / y.max()?); "
                "sparse_categorical_crossentropy needs integer class indices")
    elif y.dtype.kind not in "ui":
        raise TypeError(f"labels must be integers, found dtype {y.dtype}")
    if num_classes is not None and y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            found = low if low < 0 else high
            raise ValueError(
                f"labels must lie in 0..{num_classes - 1}, found {found} "
                "(for sparse_categorical_crossentropy, labels are class indices)")
