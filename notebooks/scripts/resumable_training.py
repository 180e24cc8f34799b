"""Lesson 06: a training run that survives being killed. Run it, kill it, run it again: it resumes.

    python scripts/resumable_training.py --folder FOLDER [--epochs 12] [--fresh] [--pause-after-epoch N]

Everything it writes goes to FOLDER: best.keras, training.csv, backup/ and, at the end,
final.weights.h5. Without --fresh it continues whatever an earlier attempt left there.
--pause-after-epoch N makes it wait after "epoch N done", so that a kill sent on that line
lands at the same point on every machine.
"""

import argparse
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslab import resume, saving  # noqa: E402


def get_data(num_samples=3000):
    """3 classes of points in 20 dimensions; seeded, so every process gets the same arrays."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 20))
    y = rng.integers(0, 3, num_samples)
    x = (centers[y] + rng.normal(0, 1.5, (num_samples, 20))).astype("float32")
    return x, y.astype("int64")


def get_model():
    model = keras.Sequential([
        keras.Input(shape=(20,)),  # built at once: BackupAndRestore needs weights to restore into
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="probabilities"),
    ], name="resumable")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class PrintProgress(keras.callbacks.Callback):
    """Placed after the backup: 'epoch N done' means epoch N is backed up."""

    def __init__(self, backup, pause_after_epoch=None):
        super().__init__()
        self.backup, self.pause_after_epoch = backup, pause_after_epoch

    def on_train_begin(self, logs=None):
        print(f"epochs already finished: {self.backup.resumed_from_epoch}", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1} done, loss {logs['loss']:.4f}", flush=True)
        if epoch + 1 == self.pause_after_epoch:
            time.sleep(600)  # wait here to be killed


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--fresh", action="store_true", help="delete what an earlier attempt left")
    parser.add_argument("--pause-after-epoch", type=int, help="wait after this epoch (to be killed there)")
    args = parser.parse_args(argv)
    if args.fresh:
        shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(42)  # the same start in every attempt
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    x, y = get_data()
    model = get_model()

    log = args.folder / "training.csv"
    checkpoint = resume.AtomicModelCheckpoint(str(args.folder / "best.keras"), monitor="val_loss", save_best_only=True)
    backup = resume.SafeBackupAndRestore(args.folder / "backup", checkpoint=checkpoint, csv_log=log,
                                         delete_checkpoint=False)  # keep it: a rerun after the end trains nothing
    model.fit(x, y, validation_split=0.2, epochs=args.epochs, batch_size=32, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True), checkpoint,
                         keras.callbacks.CSVLogger(str(log), append=True), backup,
                         PrintProgress(backup, args.pause_after_epoch)])
    saving.save_weights(model, args.folder / "final.weights.h5")
    _, accuracy = model.evaluate(x[2400:], y[2400:], verbose=0)
    print(f"finished {args.epochs} epochs; validation accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
