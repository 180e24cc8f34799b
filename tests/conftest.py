"""Fixtures for the unit tests: a private output tree and the shared offline data."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # unit tests draw without a screen

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_output_dirs(tmp_path, monkeypatch):
    """Each test writes logs/checkpoints/figures/build under its own tmp folder."""
    for name in ("LOGS", "CHECKPOINTS", "FIGURES", "BUILD"):
        monkeypatch.setenv(f"KERASLAB_{name}_DIR", str(tmp_path / name.lower()))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The offline MNIST / Fashion-MNIST copies (KERASLAB_DATA_DIR or ../shared/data).

    Fails (never skips) when they are missing: CI must provide them.
    """
    candidates = [os.environ.get("KERASLAB_DATA_DIR"), str(REPO.parent / "shared" / "data")]
    for c in candidates:
        if c and (Path(c) / "mnist").is_dir():
            return Path(c)
    pytest.fail(f"offline data not found in {candidates}; set KERASLAB_DATA_DIR to the shared data folder")


def write_idx(path: Path, array: np.ndarray, *, magic: int | None = None, gz: bool = True, truncate: int = 0) -> Path:
    """Write ``array`` (uint8) as an IDX file; ``magic`` overrides the header's,
    ``truncate`` drops that many bytes from the end."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    raw = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if truncate:
        raw = raw[:-truncate]
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def write_dataset(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0) -> dict:
    """A small, valid MNIST-style IDX set in ``folder``; returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, arr in arrays.items():
        write_idx(folder / name, arr, gz=gz)
    return {k: v.astype(np.uint8) for k, v in arrays.items()}
