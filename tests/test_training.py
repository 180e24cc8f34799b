"""benchmarks/training.py: the benchmark's input-pipeline and compile helpers."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "training.py"
_SPEC = importlib.util.spec_from_file_location("keraslab_bench_training", _PATH)
training = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(training)


def test_to_float32_scales_once():
    x = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    out = training.to_float32(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)


def test_to_float32_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN or inf"):
        training.to_float32(np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="numeric"):
        training.to_float32(np.array(["a"]))


def test_to_dataset_batches_shuffles_reproducibly():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    plain = [b[1].numpy().tolist() for b in training.to_dataset(x, y, batch_size=4)]
    assert plain == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    a = [b[1].numpy().tolist() for b in training.to_dataset(x, y, batch_size=10, shuffle=True, seed=1)]
    b = [b[1].numpy().tolist() for b in training.to_dataset(x, y, batch_size=10, shuffle=True, seed=1)]
    assert a == b and sorted(a[0]) == list(range(10)) and a[0] != list(range(10))


def test_to_dataset_checks_lengths():
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        training.to_dataset(np.zeros((3, 1)), np.zeros(2))


def test_fast_compile_kwargs_compile():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", **training.fast_compile_kwargs())
    assert model.steps_per_execution == 32
