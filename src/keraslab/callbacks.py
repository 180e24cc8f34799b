"""Callback (콜백) factories: Keras built-ins configured for this course's folders.

A factory here only *configures* a Keras callback; it never re-implements one.
The one custom callback is :class:`LossHistory`, the lesson-05 example of
writing your own.

Typical use, one :class:`~keraslab.paths.Run` per training run::

    from keraslab import callbacks, paths
    run = paths.new_run("02_mnist", "adam")
    model.fit(x, y, validation_split=0.2, epochs=20, callbacks=[
        callbacks.checkpoint(run, "best.weights.h5", monitor="val_loss"),
        callbacks.early_stopping(monitor="val_loss", patience=3),
        callbacks.tensorboard(run),
    ])
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from pathlib import Path

import keras

from keraslab import paths, saving
from keraslab.paths import Run

__all__ = [
    "AtomicModelCheckpoint",
    "checkpoint",
    "early_stopping",
    "course_schedule",
    "lr_scheduler",
    "reduce_lr_on_plateau",
    "csv_logger",
    "read_csv_log",
    "tensorboard",
    "read_tensorboard_scalars",
    "LossHistory",
]


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` whose writes are atomic.

    Keras writes checkpoints in place, so a kill during a save leaves a
    truncated file where the last good one was. This subclass changes only
    *how the file is written* (a temporary folder beside it, a SHA-256 digest
    sealed inside the file, then ``os.replace``, see :mod:`keraslab.saving`);
    when and what to save stays Keras's own logic. At the start of training it
    removes the temporary folders an earlier, killed run left in its folder.
    """

    def on_train_begin(self, logs=None):
        saving.sweep_temporaries(Path(self.filepath).parent)
        super().on_train_begin(logs)

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        if self.save_weights_only:
            saving.save_weights(self.model, filepath)
        else:
            saving.save_model(self.model, filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


def checkpoint(
    run: Run,
    filename: str = "best.keras",
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    save_best_only: bool = True,
    verbose: int = 0,
    **kwargs,
) -> keras.callbacks.ModelCheckpoint:
    """A ``ModelCheckpoint`` (체크포인트) writing into ``run.checkpoint_dir``, atomically.

    Args:
        run: the run whose (fresh) checkpoint folder receives the files.
        filename: a name ending in ``.keras`` (whole model) or ``.weights.h5``
            (weights only; ``save_weights_only`` is set from the name). It may
            use ``{epoch:02d}`` (1-based) and any logged metric, e.g.
            ``"model-{epoch:02d}-{val_accuracy:.4f}.keras"``.
        monitor: the logged quantity that decides "best", e.g. ``"val_accuracy"``.
        mode: ``"auto"``, ``"min"`` or ``"max"``; give it for custom metrics.
        save_best_only: keep only files that improve on the best so far.
        verbose: 1 prints a line at each save.
        **kwargs: passed to ``keras.callbacks.ModelCheckpoint``.

    Raises:
        ValueError: for a name Keras 3 refuses (``.h5``, ``.ckpt``, no suffix),
            with the name to use instead.
    """
    if filename.endswith(".weights.h5"):
        weights_only = True
    elif filename.endswith(".keras"):
        weights_only = False
    else:
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        raise ValueError(
            f"checkpoint name {filename!r} must end in '.keras' (whole model) or "
            f"'.weights.h5' (weights only) in Keras 3; use {stem + '.keras'!r} or "
            f"{stem + '.weights.h5'!r}"
        )
    return AtomicModelCheckpoint(
        filepath=str(run.checkpoint_dir / filename),
        monitor=monitor,
        mode=mode,
        save_best_only=save_best_only,
        save_weights_only=weights_only,
        verbose=verbose,
        **kwargs,
    )


def early_stopping(
    monitor: str = "val_loss",
    patience: int = 3,
    *,
    restore_best_weights: bool = True,
    mode: str = "auto",
    **kwargs,
) -> keras.callbacks.EarlyStopping:
    """An ``EarlyStopping`` (조기 종료) that by default restores the best weights.

    Note: in Keras 3 ``restore_best_weights=True`` restores the best epoch's
    weights at the end of training even when stopping never triggered.
    """
    return keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, restore_best_weights=restore_best_weights, mode=mode, **kwargs
    )


def course_schedule(hold_epochs: int = 5, decay: float = 0.1) -> Callable[[int, float], float]:
    """The course's learning-rate schedule (학습률 스케줄): keep the rate for
    ``hold_epochs`` epochs, then multiply it by ``exp(-decay)`` every epoch.

    ``epoch`` is 0-based, as ``LearningRateScheduler`` passes it.

    >>> s = course_schedule(hold_epochs=5)
    >>> s(4, 0.01), round(s(5, 0.01), 6)
    (0.01, 0.009048)
    """
    if hold_epochs < 0 or decay < 0:
        raise ValueError("hold_epochs and decay must be >= 0")

    def schedule(epoch: int, lr: float) -> float:
        if epoch < hold_epochs:
            return float(lr)
        return float(lr) * math.exp(-decay)

    return schedule


def lr_scheduler(hold_epochs: int = 5, decay: float = 0.1, verbose: int = 0) -> keras.callbacks.LearningRateScheduler:
    """A ``LearningRateScheduler`` (학습률 스케줄러) running :func:`course_schedule`."""
    return keras.callbacks.LearningRateScheduler(course_schedule(hold_epochs, decay), verbose=verbose)


def reduce_lr_on_plateau(
    monitor: str = "val_loss", factor: float = 0.5, patience: int = 2, min_lr: float = 1e-5, verbose: int = 0, **kwargs
) -> keras.callbacks.ReduceLROnPlateau:
    """A ``ReduceLROnPlateau``: multiply the rate by ``factor`` when ``monitor``
    has not improved for ``patience`` epochs."""
    return keras.callbacks.ReduceLROnPlateau(
        monitor=monitor, factor=factor, patience=patience, min_lr=min_lr, verbose=verbose, **kwargs
    )


def csv_logger(run: Run, filename: str = "training.csv", *, append: bool = False) -> keras.callbacks.CSVLogger:
    """A ``CSVLogger`` writing one row per epoch to ``run.log_dir / filename``."""
    return keras.callbacks.CSVLogger(str(run.log_dir / filename), append=append)


def read_csv_log(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Read a ``CSVLogger`` file back into a ``history.history``-like dict.

    The ``epoch`` column is returned too (0-based, as Keras writes it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no CSV log here; did the run use csv_logger(run)?")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: the CSV log has no rows; was training interrupted before epoch 1 ended?")
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def tensorboard(
    run: Run, *, histogram_freq: int = 0, write_graph: bool = True, **kwargs
) -> keras.callbacks.TensorBoard:
    """A ``TensorBoard`` callback logging to ``run.log_dir`` (= ``logs/<notebook>/<run>``).

    Open the dashboard with ``tensorboard --logdir=logs`` (or ``make tensorboard``)
    and go to http://localhost:6006.
    """
    return keras.callbacks.TensorBoard(
        log_dir=str(run.log_dir), histogram_freq=histogram_freq, write_graph=write_graph, **kwargs
    )


def read_tensorboard_scalars(log_dir: str | os.PathLike[str]) -> dict[str, list[tuple[int, float]]]:
    """The scalars in one TensorBoard folder, read with TensorBoard's own reader.

    Args:
        log_dir: a folder holding event files, e.g. ``run.log_dir / "train"`` (the
            ``TensorBoard`` callback writes ``train/`` and ``validation/``) or the folder of
            a ``tf.summary.create_file_writer``.

    Returns:
        ``{tag: [(step, value), ...]}`` in step order, e.g.
        ``{"epoch_loss": [(0, 0.51), (1, 0.37)], ...}``. Both kinds of scalar records are
        read: TF2 summaries (``tf.summary.scalar``, Keras 3's callback) and TF1 ones.

    Raises:
        FileNotFoundError: the folder holds no event files.
    """
    from tensorboard.backend.event_processing import event_accumulator  # imports TensorFlow
    from tensorboard.util import tensor_util

    log_dir = Path(log_dir)
    if not any(log_dir.glob("events.out.tfevents.*")):
        found = sorted(p.name for p in log_dir.iterdir()) if log_dir.is_dir() else "folder missing"
        raise FileNotFoundError(f"{log_dir}: no TensorBoard event files (found: {found}); did the run log here?")
    acc = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    )
    acc.Reload()
    tags = acc.Tags()
    scalars = {tag: [(e.step, float(e.value)) for e in acc.Scalars(tag)] for tag in tags["scalars"]}
    for tag in tags["tensors"]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            scalars[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    return {tag: sorted(points) for tag, points in scalars.items()}


class LossHistory(keras.callbacks.Callback):
    """Record the loss of every batch and save a plot of it at each epoch's end.

    The custom callback of Deep Learning with Python, chapter 7, with the plots
    written to ``folder`` as ``plot_at_epoch_<N>.png`` (N 1-based).

    Args:
        folder: where the PNG files go (created if missing); defaults to
            ``figures/``.

    Attributes:
        per_batch_losses: losses of the epoch in progress.
        epoch_losses: one list of batch losses per finished epoch.
        saved: the paths of the plots written so far.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None):
        super().__init__()
        self.folder = Path(folder) if folder is not None else paths.figures_dir()
        self.per_batch_losses: list[float] = []
        self.epoch_losses: list[list[float]] = []
        self.saved: list[Path] = []

    def on_train_begin(self, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.per_batch_losses = []
        self.epoch_losses = []
        self.saved = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_batch_losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.per_batch_losses.append(float(logs.get("loss")))

    def on_epoch_end(self, epoch, logs=None):
        from matplotlib.figure import Figure  # no pyplot: nothing pops up mid-training

        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        ax.plot(range(len(self.per_batch_losses)), self.per_batch_losses, label="Training loss for each batch")
        ax.set_xlabel(f"Batch (epoch {epoch + 1})")
        ax.set_ylabel("Loss")
        ax.legend()
        path = self.folder / f"plot_at_epoch_{epoch + 1}.png"
        fig.savefig(path, dpi=80)
        self.saved.append(path)
        self.epoch_losses.append(self.per_batch_losses)
        self.per_batch_losses = []
