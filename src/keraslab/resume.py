"""Training that survives interruption: resume from the last finished epoch.

:func:`resumable_callbacks` puts together, for one :class:`~keraslab.paths.Run`:

- an atomic best-model checkpoint (:class:`~keraslab.callbacks.AtomicModelCheckpoint`);
- optionally early stopping;
- a ``CSVLogger`` with ``append=True`` (the log continues across restarts);
- ``TensorBoard``;
- ``TerminateOnNaN(raise_error=True)``: a NaN loss stops training with an
  error *before* any epoch-end checkpoint can save NaN weights;
- :class:`ResumableBackup`, Keras's ``BackupAndRestore`` with an atomic,
  checked backup that also carries the state Keras does not restore.

Rerun the same cell or script after a crash, a kill or a closed laptop, and
``fit`` continues at the first unfinished epoch.

What Keras restores and what this adds:

| state                                  | BackupAndRestore | ResumableBackup |
|----------------------------------------|------------------|-----------------|
| model weights, optimizer state, epoch  | yes              | yes             |
| backup written atomically              | no (in place)    | yes (commit by ``os.replace``, checked by SHA-256) |
| ``ModelCheckpoint.best``               | no               | yes             |
| ``EarlyStopping`` wait/best/best weights | no             | yes             |
| CSV rows of a replayed epoch           | duplicated       | removed         |

Example::

    model = get_compiled_model()
    model.build((None, 784))                       # BackupAndRestore needs a built model
    run = paths.new_run("06_reliable", "mnist", fresh=False)   # keep the last attempt
    model.fit(x, y, epochs=10, validation_split=0.2,
              callbacks=resumable_callbacks(run, monitor="val_loss"))
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import keras

from keraslab import callbacks as kl_callbacks
from keraslab import saving
from keraslab.paths import Run
from keraslab.saving import CheckpointError

__all__ = ["ResumableBackup", "resumable_callbacks"]

_WEIGHTS = "latest.weights.h5"
_METADATA = "training_metadata.json"
_PENDING = "training_metadata.json.pending"
_ES_BEST = "early_stopping_best.weights.h5"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with an atomic, verified backup.

    Keras's own callback decides when to back up and how to resume; this
    subclass changes how the backup is written and read:

    1. weights go to a temporary file, then a *pending* metadata file naming
       their SHA-256 is written, then both are moved into place with
       ``os.replace``; a kill at any moment leaves either the old backup or the
       new one, and :meth:`_load_model` finishes a half-done commit;
    2. the metadata also carries ``ModelCheckpoint.best`` and the
       ``EarlyStopping`` counters (and its best weights), restored on resume;
    3. a replayed epoch's rows are cut from the CSV log;
    4. a corrupt backup raises :class:`~keraslab.saving.CheckpointError`
       naming the file, instead of a ``JSONDecodeError``.

    Args:
        backup_dir: the folder for the backup (kept until training finishes).
        checkpoint: a ``ModelCheckpoint`` whose ``best`` to carry over.
        early_stopping: an ``EarlyStopping`` whose counters to carry over.
        csv_log: the ``CSVLogger`` file whose replayed rows to drop.
        delete_checkpoint: remove the backup when training ends normally.

    Put it *after* those callbacks in ``callbacks=[...]``: it must see their
    end-of-epoch state, and restore theirs after they reset at train start.
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        *,
        checkpoint: keras.callbacks.ModelCheckpoint | None = None,
        early_stopping: keras.callbacks.EarlyStopping | None = None,
        csv_log: str | os.PathLike[str] | None = None,
        delete_checkpoint: bool = True,
    ):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self.folder = Path(backup_dir)
        self.checkpoint = checkpoint
        self.early_stopping = early_stopping
        self.csv_log = Path(csv_log) if csv_log is not None else None
        self.resumed_from_epoch = 0

    # ------------------------------------------------------------------ write
    def _save_model(self):
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        es = self.early_stopping
        if es is not None:
            metadata["early_stopping"] = {
                "wait": int(es.wait),
                "best": None if es.best is None else float(es.best),
                "best_epoch": int(es.best_epoch),
            }
            # EarlyStopping keeps its best weights in memory only; when this epoch was
            # its best, they are the model's current weights: keep a copy on disk.
            if es.restore_best_weights and es.best_weights is not None and es.best_epoch == self._current_epoch - 1:
                saving.save_weights(self.model, folder / _ES_BEST)
        if self.checkpoint is not None and self.checkpoint.best is not None:
            metadata["checkpoint_best"] = float(self.checkpoint.best)
        with saving.atomic_path(folder / ".latest-new.weights.h5") as tmp:
            self.model.save_weights(str(tmp))
        staged = folder / ".latest-new.weights.h5"
        metadata["weights_sha256"] = _sha256(staged)
        saving.atomic_write_text(folder / _PENDING, json.dumps(metadata))
        os.replace(staged, folder / _WEIGHTS)  # commit point 1
        os.replace(folder / _PENDING, folder / _METADATA)  # commit point 2

    # ------------------------------------------------------------------- read
    def _reconcile(self) -> dict | None:
        """Finish or discard a half-done commit; return the verified metadata."""
        weights, meta, pending = self.folder / _WEIGHTS, self.folder / _METADATA, self.folder / _PENDING
        if not weights.exists() and not meta.exists():
            return None
        if not weights.exists():
            raise CheckpointError(f"{meta}: backup metadata without {_WEIGHTS}; delete {self.folder} to start over")
        actual = _sha256(weights)
        if pending.exists():
            try:
                pending_meta = saving.read_json(pending)
            except CheckpointError:
                pending_meta = {}
            if pending_meta.get("weights_sha256") == actual:  # killed between the two commits
                os.replace(pending, meta)
            else:  # killed before the weights were committed: the old backup stands
                pending.unlink()
        if not meta.exists():
            raise CheckpointError(f"{weights}: backup weights without {_METADATA}; delete {self.folder} to start over")
        metadata = saving.read_json(meta)
        if metadata.get("weights_sha256") not in (None, actual):
            raise CheckpointError(
                f"{weights}: does not match {meta} (SHA-256 differs); the backup is corrupt. "
                f"Delete {self.folder} to start over."
            )
        saving.check_checkpoint(weights)
        return metadata

    def _load_model(self):
        if not self.model.built:
            raise ValueError(
                "ResumableBackup needs a built model: call model.build(input_shape) or model(x[:1]) "
                "before fit(), so there are weights to restore into."
            )
        metadata = self._reconcile()
        if metadata is None:  # a first start, or killed before the first backup
            self.resumed_from_epoch = 0
            if self.csv_log is not None:
                _truncate_csv(self.csv_log, keep_below_epoch=0)
            return
        try:
            es = self.early_stopping
            if es is not None and (self.folder / _ES_BEST).exists() and es.restore_best_weights:
                self.model.load_weights(self.folder / _ES_BEST)
                es.best_weights = self.model.get_weights()
            super()._load_model()
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(
                f"{self.folder / _WEIGHTS}: the backup cannot be loaded into this model ({type(exc).__name__}: "
                f"{exc}). Was the model changed? Delete {self.folder} to start over."
            ) from None
        self.resumed_from_epoch = int(metadata["epoch"])
        self._current_epoch = self.resumed_from_epoch
        if es is not None and "early_stopping" in metadata:
            state = metadata["early_stopping"]
            es.wait, es.best, es.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if self.checkpoint is not None and "checkpoint_best" in metadata:
            self.checkpoint.best = metadata["checkpoint_best"]
        if self.csv_log is not None:
            _truncate_csv(self.csv_log, keep_below_epoch=self.resumed_from_epoch)


def _truncate_csv(path: Path, keep_below_epoch: int) -> None:
    """Drop rows for epochs >= ``keep_below_epoch`` in place (CSVLogger appends with O_APPEND)."""
    if not path.exists():
        return
    with open(path, "r+", newline="") as f:
        offset = 0
        header = f.readline()
        offset += len(header.encode())
        if not header:
            return
        while True:
            line = f.readline()
            if not line:
                return
            first = line.split(",", 1)[0].strip().strip('"')
            try:
                epoch = int(float(first))
            except ValueError:
                epoch = keep_below_epoch  # unreadable row: cut from here
            if epoch >= keep_below_epoch:
                f.truncate(offset)
                return
            offset += len(line.encode())


def resumable_callbacks(
    run: Run,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    checkpoint_name: str = "best.keras",
    patience: int | None = None,
    tensorboard: bool = True,
) -> list[keras.callbacks.Callback]:
    """Callbacks for training that resumes after an interruption.

    Args:
        run: the run's folders; make it with ``paths.new_run(..., fresh=False)``
            so a rerun finds the previous attempt's backup.
        monitor / mode: what the best checkpoint (and early stopping) watch.
        checkpoint_name: best-model file in ``run.checkpoint_dir``.
        patience: add ``EarlyStopping(patience=...)`` when given.
        tensorboard: add a ``TensorBoard`` callback on ``run.log_dir``.

    Returns:
        The list for ``fit(callbacks=...)``; the :class:`ResumableBackup` is last.
        Its ``resumed_from_epoch`` says where the last ``fit`` started.
    """
    out: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN(raise_error=True)]
    ckpt = kl_callbacks.checkpoint(run, checkpoint_name, monitor=monitor, mode=mode)
    out.append(ckpt)
    es = None
    if patience is not None:
        es = kl_callbacks.early_stopping(monitor=monitor, patience=patience, mode=mode)
        out.append(es)
    csv_cb = kl_callbacks.csv_logger(run, append=True)
    out.append(csv_cb)
    if tensorboard:
        out.append(kl_callbacks.tensorboard(run))
    out.append(
        ResumableBackup(run.checkpoint_dir / "backup", checkpoint=ckpt, early_stopping=es, csv_log=csv_cb.filename)
    )
    return out


# --------------------------------------------------------------------------- demo
def demo_data(num_samples: int = 2000, num_features: int = 20, num_classes: int = 3, seed: int = 0):
    """A fixed synthetic classification set for the resume demo and its tests."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, (num_classes, num_features))
    y = rng.integers(0, num_classes, num_samples)
    x = (centers[y] + rng.normal(0, 1.5, (num_samples, num_features))).astype("float32")
    return x, y.astype("int64")


def demo_model(num_features: int = 20, num_classes: int = 3, learning_rate: float = 1e-3) -> keras.Model:
    """A small built and compiled MLP for the resume demo."""
    model = keras.Sequential(
        [
            keras.Input((num_features,), name="features"),
            keras.layers.Dense(64, activation="relu", name="hidden"),
            keras.layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="resume_demo",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # Build the optimizer's variables now, so loading a weights file (which carries
    # the optimizer state too) restores them instead of warning that it skipped them.
    model.optimizer.build(model.trainable_variables)
    return model


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.resume``: train the demo model resumably; rerun to resume.

    Writes ``final.weights.h5`` in the run's checkpoint folder when all epochs
    are done, and prints one line per finished epoch.
    """
    import argparse

    import numpy as np
    import tensorflow as tf

    parser = argparse.ArgumentParser(prog="python -m keraslab.resume", description=main.__doc__.split("\n")[0])
    parser.add_argument("--notebook", default="06_reliable")
    parser.add_argument("--run", default="resume-demo")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="discard an earlier attempt instead of resuming")
    args = parser.parse_args(argv)

    from keraslab import paths

    keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    x, y = demo_data(args.samples)
    model = demo_model(learning_rate=args.learning_rate)
    run = paths.new_run(args.notebook, args.run, fresh=args.fresh)
    cbs = resumable_callbacks(run, monitor="val_loss", patience=args.patience, tensorboard=False)
    backup = cbs[-1]

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"epoch {epoch + 1} done loss={logs['loss']:.4f}", flush=True)

    # shuffle=False: the batch order then depends only on the data, so a resumed run
    # repeats exactly what an uninterrupted one does (a new process reshuffles otherwise).
    history = model.fit(
        x,
        y,
        validation_split=0.2,
        epochs=args.epochs,
        batch_size=32,
        shuffle=False,
        verbose=0,
        callbacks=[*cbs[:-1], Report(), backup],
    )
    saving.save_weights(model, run.checkpoint_dir / "final.weights.h5")
    last = len(history.history["loss"]) + backup.resumed_from_epoch
    print(f"resumed_from_epoch={backup.resumed_from_epoch} finished_epochs={last}", flush=True)
    print(f"final_weights_checksum={float(sum(np.abs(w).sum() for w in model.get_weights())):.6f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
