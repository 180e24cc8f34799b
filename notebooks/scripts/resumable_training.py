"""Lesson 06: a training run that survives being killed. Run it, kill it, run it again: it resumes.

    python scripts/resumable_training.py --folder FOLDER [--epochs 12] [--fresh] [--pause-after-epoch N]

Everything it writes goes to FOLDER: best.keras, training.csv, backup/ and, at the end,
final.weights.h5. Without --fresh it continues whatever an earlier attempt left there.
One trainer per folder: it holds the OS's lock on FOLDER/trainer.lock while it runs, and a
second one on the same folder stops at once, naming the first.
--pause-after-epoch N makes it wait after "epoch N done", so that a kill sent on that line
lands at the same point on every machine.
"""

import argparse
import contextlib
import os
import shutil
import sys
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


@contextlib.contextmanager
def one_trainer(folder):
    """Hold the OS's lock on folder/trainer.lock while the block runs; refuse if another process holds it.

    The OS releases the lock when the process ends, however it ends: a killed run never blocks a restart.
    """
    path = Path(folder) / "trainer.lock"
    if path.is_symlink():  # writing through it could reach outside the folder
        raise RuntimeError(f"{path}: refused: a symbolic link, not a lock file; remove it.")
    lock = open(path, "a+")  # never truncated before the lock is ours
    try:
        if os.name == "nt":
            import msvcrt

            lock.seek(1 << 20)  # lock a byte past the text, which stays readable
            msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "a process that has not written its name yet"
        lock.close()
        raise RuntimeError(f"{folder}: refused: another trainer is using this folder.\n  It is held by {holder}.\n"
                           "  Two trainers in one folder overwrite each other's backup and log: wait for it to "
                           "finish, stop it, or give this run its own --folder.") from None
    lock.truncate(0)
    lock.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, command: {' '.join(sys.argv)}\n")
    lock.flush()
    try:
        yield
    finally:
        lock.close()  # releases the lock


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
    try:
        saving.refuse_links(args.folder)  # a linked run folder would lead --fresh and every save elsewhere
        args.folder.mkdir(parents=True, exist_ok=True)
        with one_trainer(args.folder):
            train(args)
    except (RuntimeError, saving.CheckpointError) as error:  # a sentence, not a traceback
        sys.exit(str(error))


def train(args):
    if args.fresh:  # everything an earlier attempt left, but not the lock we hold
        for entry in args.folder.iterdir():
            if entry.name != "trainer.lock":
                entry.unlink() if entry.is_symlink() or not entry.is_dir() else shutil.rmtree(entry)

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
    try:
        model.fit(x, y, validation_split=0.2, epochs=args.epochs, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True), checkpoint,
                             keras.callbacks.CSVLogger(str(log), append=True), backup,
                             PrintProgress(backup, args.pause_after_epoch)])
        saving.save_weights(model, args.folder / "final.weights.h5")
    except (saving.CheckpointError, OSError) as error:  # a full disk, a planted link: say what is kept
        if not isinstance(error, saving.CheckpointError):  # CSVLogger's write, for one
            error = f"{args.folder}: cannot write there ({error}). Free some space, then run again."
        kept = backup.backed_up_epoch and f"\nKept: the backup of epoch {backup.backed_up_epoch} in {backup.folder}"
        raise saving.CheckpointError(f"{error}{kept or ''}") from None  # the same command then resumes from it
    _, accuracy = model.evaluate(x[2400:], y[2400:], verbose=0)
    print(f"finished {args.epochs} epochs; validation accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
