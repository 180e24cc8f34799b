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

import gzip
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
    "Ankle boot",
)
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


class DataFileError(ValueError):
    """A data file exists but is not what it should be (wrong format, truncated, ...)."""


class DataNotFoundError(FileNotFoundError):
    """No copy of a data set could be found or downloaded."""


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into a ``uint8`` array.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.
        expected_magic: ``0x00000803`` for images, ``0x00000801`` for labels;
            ``None`` accepts any uint8 IDX file.

    Returns:
        An array shaped as the header says.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFileError: not an IDX file, the wrong kind of IDX file, not uint8,
            or shorter/longer than its header says. The message names the file,
            what was expected and what was found.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(
            f"{path}: cannot be decompressed ({exc}); the file is truncated or not gzip. Replace it with a fresh copy."
        ) from exc
    if len(raw) < 4:
        raise DataFileError(f"{path}: expected an IDX header (at least 4 bytes), found {len(raw)} bytes")
    (magic,) = struct.unpack(">I", raw[:4])
    zero, dtype_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0 or dtype_code != 0x08 or ndim == 0:
        raise DataFileError(f"{path}: not a uint8 IDX file: expected magic number 0x000008NN, found 0x{magic:08x}")
    if expected_magic is not None and magic != expected_magic:
        kind = {_IMAGE_MAGIC: "images", _LABEL_MAGIC: "labels"}.get(expected_magic, "data")
        raise DataFileError(
            f"{path}: expected an IDX {kind} file (magic 0x{expected_magic:08x}), "
            f"found magic 0x{magic:08x} ({ndim} dimension(s)); are two files swapped?"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataFileError(f"{path}: header says {ndim} dimensions but the file ends at byte {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected = int(np.prod(shape, dtype=np.int64))
    found = len(raw) - header_len
    if found != expected:
        raise DataFileError(
            f"{path}: header says shape {shape} = {expected} bytes of data, found {found} bytes "
            f"({'truncated' if found < expected else 'trailing bytes'}); replace the file."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape).copy()


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
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
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None:
    """Load the four IDX files of data set ``name`` from the first folder that has them.

    Returns ``None`` when no searched folder holds a complete set, so the caller
    can fall back to a download. Validates what it reads (see :func:`read_idx`),
    then the image size, the image/label counts and the label range.
    """
    for _label, folder in _candidate_dirs(name, data_dir):
        files = {key: _find_file(folder, stem) for key, stem in _IDX_FILES.items()}
        if not any(files.values()):
            continue
        missing = [_IDX_FILES[k] + "[.gz]" for k, v in files.items() if v is None]
        if missing:
            raise DataNotFoundError(
                f"{folder}: incomplete {name} folder, missing {', '.join(missing)}. Copy all four IDX files there."
            )
        arrays = {}
        for key, file in files.items():
            magic = _IMAGE_MAGIC if key.endswith("images") else _LABEL_MAGIC
            arrays[key] = read_idx(file, expected_magic=magic)
        for split in ("train", "test"):
            images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
            if images.shape[1:] != image_shape:
                raise DataFileError(
                    f"{files[f'{split}_images']}: expected images of shape {image_shape}, found {images.shape[1:]}"
                )
            if len(images) != len(labels):
                raise DataFileError(
                    f"{files[f'{split}_images']} has {len(images)} images but "
                    f"{files[f'{split}_labels']} has {len(labels)} labels; "
                    "the two files must come from the same release."
                )
            if labels.size and labels.max() >= num_classes:
                raise DataFileError(
                    f"{files[f'{split}_labels']}: labels must lie in 0..{num_classes - 1}, found {int(labels.max())}"
                )
        return (
            (arrays["train_images"], arrays["train_labels"]),
            (arrays["test_images"], arrays["test_labels"]),
        )
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
        "subfolder with them (in this project: KERASLAB_DATA_DIR=../shared/data)."
    )
    if not download:
        raise DataNotFoundError(hint)
    import keras

    try:
        return getattr(keras.datasets, keras_loader).load_data()
    except Exception as exc:  # network errors come in many types; all mean the same here
        raise DataNotFoundError(
            f"{hint}\nThe download through keras.datasets.{keras_loader} failed too: {type(exc).__name__}: {exc}"
        ) from None


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
            f"(full shape {x.shape}); reshape the data or build the model for this shape"
        )
    if x.dtype.kind not in "uifb":
        raise TypeError(f"{name} must be numeric, found dtype {x.dtype}; convert it with .astype('float32')")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); clean or impute them before training")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.mod(y, 1), 0).all():
            raise ValueError(
                "labels are not whole numbers (were they divided, e.g. y / y.max()?); "
                "sparse_categorical_crossentropy needs integer class indices"
            )
    elif y.dtype.kind not in "ui":
        raise TypeError(f"labels must be integers, found dtype {y.dtype}")
    if num_classes is not None and y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            found = low if low < 0 else high
            raise ValueError(
                f"labels must lie in 0..{num_classes - 1}, found {found} "
                "(for sparse_categorical_crossentropy, labels are class indices)"
            )
