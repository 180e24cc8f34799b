"""The resume demo: a program that trains a small model resumably, so a lesson or a test can kill and rerun it.

``python -m keraslab.resume_demo`` trains :func:`demo_model` on :func:`demo_data` with
:func:`keraslab.resume.resumable_callbacks`, prints ``epoch N done loss=...`` after each epoch (what
a learner watches, and the marker a caller kills at), and writes ``final.weights.h5`` when all
epochs are done. Run it again after a kill and it resumes; run it after it finished and it trains
nothing. What it did is reported as JSON through :func:`keraslab.results.write_result` (the file
``KERASLAB_RESULT_FILE`` names; :func:`keraslab.processes.run_child` sets it and reads it back):

``last_epoch_done``
    the last epoch it finished, written after every epoch (so a killed run reports it too);
``resumed_from_epoch``, ``finished_epochs``, ``already_finished``, ``epochs_trained``
    where this run started, how many epochs the run has finished (all attempts together), whether
    it found a finished run, and how many epochs this process trained;
``val_accuracy``, ``final_weights``
    the final model's accuracy on the validation split, and the path of ``final.weights.h5``.

Example::

    from keraslab.processes import run_child
    child = run_child([sys.executable, "-m", "keraslab.resume_demo", "--epochs", "12"], kill_at="epoch 4 done")
    child = run_child([sys.executable, "-m", "keraslab.resume_demo", "--epochs", "12"])   # resumes
    child.result["resumed_from_epoch"], child.result["finished_epochs"]   # e.g. (4, 12)
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from keraslab import paths, resume, saving
from keraslab.results import write_result

__all__ = ["demo_data", "demo_model", "main"]


def demo_data(num_samples: int = 2000, num_features: int = 20, num_classes: int = 3, seed: int = 0):
    """A fixed (seeded) synthetic classification set: ``(x, y)``, float32 features and int64 labels.

    Args:
        num_samples: number of points.
        num_features: features per point.
        num_classes: number of classes (Gaussian blobs).
        seed: the NumPy seed; the same seed gives the same arrays in every process.

    Example::

        x, y = resume_demo.demo_data(3000)   # x: (3000, 20) float32, y: (3000,) int64
    """
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, (num_classes, num_features))
    y = rng.integers(0, num_classes, num_samples)
    x = (centers[y] + rng.normal(0, 1.5, (num_samples, num_features))).astype("float32")
    return x, y.astype("int64")


def demo_model(num_features: int = 20, num_classes: int = 3, learning_rate: float = 1e-3) -> keras.Model:
    """A small MLP, ``Dense(64, relu)`` then ``Dense(num_classes, softmax)``, built and compiled, optimizer built.

    Args:
        num_features: the input width.
        num_classes: the output width.
        learning_rate: Adam's learning rate.

    Example::

        model = resume_demo.demo_model()
        model.count_params()   # 1539
    """
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


class _Report(keras.callbacks.Callback):
    """Print one line per finished epoch and report it as the last epoch done."""

    def __init__(self):
        super().__init__()
        self.trained = 0

    def on_epoch_end(self, epoch, logs=None):
        self.trained += 1
        print(f"epoch {epoch + 1} done loss={logs['loss']:.4f}", flush=True)
        write_result({"last_epoch_done": epoch + 1})


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m keraslab.resume_demo", description="Train the demo model resumably; rerun to resume."
    )
    parser.add_argument("--notebook", default="06_reliable")
    parser.add_argument("--run", default="resume-demo")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="discard an earlier attempt instead of resuming")
    return parser.parse_args(argv)


def _train(args: argparse.Namespace, x, y) -> tuple[keras.Model, resume.ResumableBackup, _Report, paths.Run]:
    keras.utils.set_random_seed(42)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    model = demo_model(learning_rate=args.learning_rate)
    run = paths.new_run(args.notebook, args.run, fresh=args.fresh)
    cbs = resume.resumable_callbacks(run, monitor="val_loss", patience=args.patience, tensorboard=False)
    backup, report = cbs[-1], _Report()
    # shuffle=False: the batch order then depends only on the data, so a resumed run
    # repeats exactly what an uninterrupted one does (a new process reshuffles otherwise).
    model.fit(
        x,
        y,
        validation_split=0.2,
        epochs=args.epochs,
        batch_size=32,
        shuffle=False,
        verbose=0,
        callbacks=[*cbs[:-1], report, backup],
    )
    return model, backup, report, run


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.resume_demo``: train the demo model resumably; rerun it to resume.

    Args:
        argv: the command line (default ``sys.argv[1:]``): ``--epochs``, ``--samples``, ``--run``,
            ``--notebook``, ``--learning-rate``, ``--patience``, ``--fresh``.

    Returns:
        0; what the run did is written with :func:`keraslab.results.write_result`.

    Example::

        resume_demo.main(["--epochs", "3", "--run", "try-it", "--fresh"])
    """
    args = _parse(argv)
    x, y = demo_data(args.samples)
    model, backup, report, run = _train(args, x, y)
    final = saving.save_weights(model, run.checkpoint_dir / "final.weights.h5")
    split = int(len(x) * 0.8)  # what validation_split=0.2 held out: the last 20%
    _, val_accuracy = model.evaluate(x[split:], y[split:], verbose=0)
    write_result(
        {
            "resumed_from_epoch": backup.resumed_from_epoch,
            "finished_epochs": backup.epochs_done,
            "already_finished": backup.already_finished,
            "epochs_trained": report.trained,
            "val_accuracy": float(val_accuracy),
            "final_weights": str(final),
        }
    )
    if backup.already_finished:
        start = "already finished, trained nothing"
    elif backup.resumed_from_epoch:
        start = f"resumed from epoch {backup.resumed_from_epoch}"
    else:
        start = "started from scratch"
    print(f"{start}; {backup.epochs_done} epochs finished; validation accuracy {val_accuracy:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
