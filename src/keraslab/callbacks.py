"""Callbacks (콜백) that add something Keras lacks: atomic checkpoints in the course's run folders.

Everything else is Keras's own callback under its own name, configured in the lesson's cell
(``keras.callbacks.EarlyStopping``, ``CSVLogger``, ``TensorBoard``, ``LearningRateScheduler``,
``ReduceLROnPlateau``). Here live only :class:`AtomicModelCheckpoint` (a ``ModelCheckpoint``
whose writes cannot leave a truncated file), :func:`checkpoint` (one in a run's checkpoint
folder, the file kind read from its name). Lesson 05 writes its own ``LossHistory`` in its cell.
The readers of the logs those callbacks write are in :mod:`keraslab.logreaders`.

Typical use, one :class:`~keraslab.paths.Run` per training run::

    import keras
    from keraslab import callbacks, paths
    run = paths.new_run("02_mnist", "adam")
    model.fit(x, y, validation_split=0.2, epochs=20, callbacks=[
        callbacks.checkpoint(run, "best.weights.h5", monitor="val_loss"),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
        keras.callbacks.TensorBoard(log_dir=run.log_dir),
    ])
"""

from __future__ import annotations

from pathlib import Path

import keras

from keraslab import saving
from keraslab.paths import Run

__all__ = ["AtomicModelCheckpoint", "checkpoint"]


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` whose writes are atomic.

    Keras writes checkpoints in place, so a kill during a save leaves a
    truncated file where the last good one was. This subclass changes only
    *how the file is written* (a temporary folder beside it, a SHA-256 digest
    sealed inside the file, then ``os.replace``, see :mod:`keraslab.saving`);
    when and what to save stays Keras's own logic. At the start of training it
    removes the temporary folders an earlier, killed run left in its folder.

    Private Keras hooks that remain, and why: ``ModelCheckpoint`` has no public
    hook for *how* a file is written, so this class overrides ``_save_model``
    (Keras 3.15's body with its two writes replaced, keeping its
    ``IsADirectoryError``/``IOError`` handling) and calls the private
    ``_get_file_path`` and ``_should_save_model`` it relies on, so that file
    names and "best so far" stay Keras's own.

    Args: those of ``keras.callbacks.ModelCheckpoint``.

    Example::

        cb = AtomicModelCheckpoint("checkpoints/best.keras", monitor="val_loss", save_best_only=True)
        model.fit(x, y, validation_split=0.2, callbacks=[cb])
    """

    def on_train_begin(self, logs=None):
        saving.sweep_temporaries(Path(self.filepath).parent)
        super().on_train_begin(logs)

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        try:
            Path(filepath).parent.mkdir(parents=True, exist_ok=True)
            if self.save_weights_only:
                saving.save_weights(self.model, filepath)
            else:
                saving.save_model(self.model, filepath)
        except IsADirectoryError as error:  # as Keras's own ModelCheckpoint reports it
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            ) from error
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

    Example::

        best = checkpoint(run, "model-{epoch:02d}-{val_accuracy:.4f}.keras", monitor="val_accuracy")
        best.filepath   # '.../checkpoints/01_iris/<run>/model-{epoch:02d}-{val_accuracy:.4f}.keras'
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


# --- Temporary aliases, until lessons 05-07 and keraslab.resume use the Keras names -------------
# Remove each once nothing imports it (grep "callbacks\.<name>" in notebooks/, src/ and tests/).


def tensorboard(run: Run, **kwargs) -> keras.callbacks.TensorBoard:
    """Deprecated alias: use ``keras.callbacks.TensorBoard(log_dir=run.log_dir, ...)``."""
    return keras.callbacks.TensorBoard(log_dir=run.log_dir, **kwargs)


