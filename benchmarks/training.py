"""Input-pipeline and compile helpers for the benchmark (``benchmarks/bench.py``).

This module lived in the package as ``keraslab.training``; no lesson imports it, so it
moved here, beside the benchmark that measures it. Import it with ``benchmarks/`` on
``sys.path`` (``bench.py`` runs as a script, so that is its own folder).

The levers here change *how* ``fit`` is fed and scheduled, never the model, epochs,
batch size or data. What earlier runs of ``make bench`` found on the course's 2-core CPU
(MNIST 256-64-32-10 MLP, batch 32, TensorFlow): ``steps_per_execution=32`` won in every
run (1.4x to 1.9x); float32 inputs and a cached, prefetched ``tf.data`` pipeline did not
win reliably (0.75x to 1.18x, and nothing on top of ``steps_per_execution``); one intra-op
thread helped the plain code a little and slowed ``steps_per_execution``. The benchmark
now compares the plain code and ``steps_per_execution=32`` on TensorFlow and JAX against
a matmul roofline (see its docstring); :func:`to_float32` feeds its custom-loop section.

Example::

    import sys; sys.path.insert(0, "benchmarks")
    from training import fast_compile_kwargs, to_dataset
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **fast_compile_kwargs())
    model.fit(to_dataset(x, y, batch_size=32, shuffle=True), epochs=20,
              validation_data=to_dataset(x_val, y_val, batch_size=32))
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_float32", "to_dataset", "fast_compile_kwargs"]


def to_float32(images: np.ndarray, scale: float = 255.0) -> np.ndarray:
    """Scale ``uint8`` images to ``float32`` in [0, 1] once, up front.

    ``x / 255.0`` gives ``float64``, which Keras then converts to ``float32``
    batch by batch, every epoch.
    """
    images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise TypeError(f"expected numeric images, got dtype {images.dtype}")
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or inf; clean the data before training")
    return (images / np.float32(scale)).astype("float32")


def to_dataset(x, y, *, batch_size: int = 32, shuffle: bool = False, seed: int = 42, cache: bool = True):
    """A ``tf.data`` pipeline: (cache) → (shuffle each epoch, seeded) → batch → prefetch.

    Args:
        x, y: arrays with the same first dimension.
        batch_size: as you would pass to ``fit``.
        shuffle: reshuffle every epoch (``fit`` does this for arrays by default).
        seed: the shuffle seed, for reproducible runs.
        cache: keep the elements in memory after the first pass.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}; they must match")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fast_compile_kwargs(steps_per_execution: int = 32) -> dict:
    """Extra ``compile`` arguments: run ``steps_per_execution`` batches per call
    into the compiled graph, which cuts Python overhead per step for small models.
    (``jit_compile=True`` was about 3x *slower* for these MLPs on this CPU, so it
    is left off.)"""
    return {"steps_per_execution": steps_per_execution}
