"""One worker of a multi-worker job: lesson 07's custom training loop, with a checkpoint every epoch.

``python -m keraslab.worker`` trains lesson 03's ``model_fn()`` (no dropout, so a run on any
number of workers computes the same losses) on the first ``--samples`` MNIST training images,
unshuffled, in global batches of ``--batch-size × replicas`` with Adam, under
:func:`keraslab.distribute.strategy_from_env`'s strategy (``MultiWorkerMirroredStrategy`` when
``TF_CONFIG`` is set, see :mod:`keraslab.jobs`). The loop, in named steps:

1. :func:`restore`: the model, the optimizer and an epoch counter in a ``tf.train.Checkpoint``;
   every worker restores the chief's latest checkpoint (unless ``--fresh``);
2. :func:`datasets`: the global batches, split across the replicas by the strategy;
3. the replica steps: lesson 07's :func:`keraslab.distribute.make_train_step`, and
   :func:`eval_steps` for the loss and the correct predictions;
4. :func:`train_epochs`: after every epoch a ``tf.train.CheckpointManager`` save into
   ``checkpoints/<notebook>/<run>`` (the chief; the others into temporary folders, see
   :func:`keraslab.distribute.write_dir`) and the epoch loss for TensorBoard (the chief).

It prints what a learner reads (``Strategy: ...``, ``resumed from epoch R``, ``epoch E/N
loss=L``, ``done ...``) and reports the numbers to whoever started it as JSON
(:func:`keraslab.results.write_result`): ``strategy``, ``chief``, ``checkpoint_dir``,
``log_dir``, ``resumed_from_epoch``, ``epochs`` and ``losses`` (after every epoch, so a killed
worker's result holds what it saved), then ``final_loss``, ``test_accuracy`` and
``weights_checksum``; ``error`` when it stops with an exception.

Example (one worker, no cluster: TensorFlow's default strategy)::

    python -m keraslab.worker --epochs 2 --samples 2000 --run my-run --fresh
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from keraslab.cluster import is_chief, parse_tf_config
from keraslab.distribute import (
    global_batch_size,
    make_train_step,
    strategy_from_env,
    sum_over_replicas,
    write_dir,
    write_target,
)
from keraslab.results import write_result

__all__ = [
    "HOLD_AFTER_EPOCH",
    "Worker",
    "restore",
    "datasets",
    "eval_steps",
    "train_epochs",
    "train_worker",
    "fit_worker",
    "main",
]

#: A worker whose environment sets this to ``k`` holds after epoch ``k`` until it is killed
#: (:func:`keraslab.jobs.run_job`'s victim), so no other worker can finish the next epoch.
HOLD_AFTER_EPOCH = "KERASLAB_HOLD_AFTER_EPOCH"


@dataclass
class Worker:
    """Where this worker stands: its strategy, ``TF_CONFIG``, global batch and the run's folders."""

    strategy: object
    config: dict
    global_batch: int
    checkpoint_dir: Path
    log_dir: Path

    @property
    def chief(self) -> bool:
        return is_chief(self.config)


def _start(threads: int, seed: int):
    """Threads, strategy, seeds and deterministic ops, in the order TensorFlow accepts them."""
    import keras
    import tensorflow as tf

    # Threads first: they cannot change once TensorFlow has started.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    strategy = strategy_from_env()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return strategy


def _mnist_subset(samples: int, test_samples: int):
    import numpy as np

    from keraslab.data import load_mnist

    (x, y), (x_test, y_test) = load_mnist()
    x = (x[:samples] / np.float32(255)).astype("float32")
    x_test = (x_test[:test_samples] / np.float32(255)).astype("float32")
    return (x, y[:samples].astype("int64")), (x_test, y_test[:test_samples].astype("int64"))


def _worker(strategy, notebook: str, run: str, batch_size: int, fresh: bool) -> Worker:
    """The worker's place: the chief owns the real folders, and a fresh start empties them (only it touches them)."""
    from keraslab import paths

    config = parse_tf_config()
    if is_chief(config):
        folders = paths.new_run(notebook, run, fresh=fresh)
        checkpoint_dir, log_dir = folders.checkpoint_dir, folders.log_dir
    else:
        checkpoint_dir, log_dir = paths.checkpoints_dir() / notebook / run, paths.logs_dir() / notebook / run
    worker = Worker(strategy, config, global_batch_size(batch_size, strategy), checkpoint_dir, log_dir)
    where = {"checkpoint_dir": write_target(checkpoint_dir, config), "log_dir": write_target(log_dir, config)}
    note = "" if worker.chief else " (temporary, removed)"
    print(
        f"writes checkpoints to {paths.relative(where['checkpoint_dir'])}{note}, "
        f"logs to {paths.relative(where['log_dir'])}{note}",
        flush=True,
    )
    write_result({"chief": worker.chief, **{name: str(folder) for name, folder in where.items()}})
    return worker


def restore(worker: Worker, learning_rate: float, *, fresh: bool):
    """Build the model and optimizer under the strategy's scope and restore the latest checkpoint.

    Args:
        worker: this worker (:class:`Worker`).
        learning_rate: Adam's learning rate.
        fresh: start at epoch 0 instead of restoring.

    Returns:
        ``(model, optimizer, checkpoint, epoch)``: ``epoch`` is the checkpoint's ``tf.Variable``
        counter, the last epoch saved (0 for a fresh start).
    """
    import keras
    import tensorflow as tf

    from keraslab import models

    # Model and optimizer variables are created under the strategy's scope: mirrored on every replica.
    with worker.strategy.scope():
        model = models.model_fn()
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
    epoch = tf.Variable(0, dtype=tf.int64, name="epoch", trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    latest = None if fresh else tf.train.latest_checkpoint(str(worker.checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
    resumed_from = int(epoch.numpy())
    if resumed_from:
        print(f"resumed from epoch {resumed_from} ({Path(latest).name})", flush=True)
    write_result({"resumed_from_epoch": resumed_from})
    return model, optimizer, checkpoint, epoch


def datasets(worker: Worker, train, test):
    """The training and test sets in global batches, split across the replicas by the strategy.

    Args:
        worker: this worker (:class:`Worker`).
        train, test: ``(images, labels)`` arrays.

    Returns:
        ``(train_dist, test_dist, steps)``: distributed data sets and the training steps per epoch.
    """
    import tensorflow as tf

    # Each worker reads everything and keeps its share of every batch (sharding by data, not by file).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = tf.data.Dataset.from_tensor_slices(train).batch(worker.global_batch, drop_remainder=True)
    test_ds = tf.data.Dataset.from_tensor_slices(test).batch(worker.global_batch)
    distribute = worker.strategy.experimental_distribute_dataset
    return distribute(train_ds.with_options(options)), distribute(test_ds.with_options(options)), len(train_ds)


def eval_steps(worker: Worker, model, loss_fn):
    """Two ``tf.function``s of one distributed batch: its mean loss, and its number of correct predictions."""
    import tensorflow as tf

    def replica_loss(inputs, targets):  # this replica's share of the global batch's mean loss
        predictions = model(inputs, training=False)
        return tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=worker.global_batch)

    def replica_correct(inputs, targets):
        predicted = tf.argmax(model(inputs, training=False), axis=1)
        return tf.reduce_sum(tf.cast(tf.equal(predicted, targets), tf.int64))

    @tf.function
    def mean_loss(inputs, targets):
        return sum_over_replicas(worker.strategy, replica_loss, inputs, targets)

    @tf.function
    def correct_count(inputs, targets):
        return sum_over_replicas(worker.strategy, replica_correct, inputs, targets)

    return mean_loss, correct_count


def train_epochs(worker: Worker, train_step, train_dist, checkpoint, epoch, epochs: int, epoch_delay: float = 0.0):
    """Train from the epoch after ``epoch`` to ``epochs``; save and report after each.

    Every worker saves (all must take part), the chief into the run's folder, the others into
    a temporary folder removed at once; the chief logs ``epoch_loss`` for TensorBoard.

    Returns:
        The epoch losses of this run (one per epoch trained).
    """
    import tensorflow as tf

    done, losses = [], []
    with write_dir(worker.log_dir, worker.config) as log_write_dir:
        writer = tf.summary.create_file_writer(str(log_write_dir / "train"))
        for number in range(int(epoch.numpy()) + 1, epochs + 1):
            steps = [float(train_step(inputs, targets)) for inputs, targets in train_dist]
            losses.append(sum(steps) / len(steps))
            epoch.assign(number)
            with write_dir(worker.checkpoint_dir, worker.config) as checkpoint_write_dir:
                manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_write_dir), max_to_keep=2)
                manager.save(checkpoint_number=number)
            with writer.as_default():
                tf.summary.scalar("epoch_loss", losses[-1], step=number)
            writer.flush()
            done.append(number)
            write_result({"epochs": done, "losses": losses})
            print(f"epoch {number}/{epochs} loss={losses[-1]:.6f}", flush=True)
            time.sleep(epoch_delay)
            if os.environ.get(HOLD_AFTER_EPOCH) == str(number):
                time.sleep(3600)  # run_job's victim: wait here to be killed, so no other worker passes this epoch
        writer.close()
    return losses


def train_worker(
    *,
    notebook: str = "07_distributed",
    run: str = "multi-worker",
    epochs: int = 6,
    samples: int = 6000,
    test_samples: int = 2000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    fresh: bool = False,
    threads: int = 1,
    seed: int = 42,
    epoch_delay: float = 0.0,
) -> dict:
    """Train one worker of a job (or a single process without ``TF_CONFIG``); see the module's docstring.

    Args:
        notebook, run: the run's folders, ``checkpoints/<notebook>/<run>`` and ``logs/<notebook>/<run>``.
        epochs: the epoch to train up to (a resumed run trains only the epochs after its checkpoint).
        samples, test_samples: how many MNIST training and test images.
        batch_size: per replica; the global batch is ``batch_size × replicas``.
        learning_rate: Adam's. fresh: ignore (and remove) earlier checkpoints.
        threads: TensorFlow's intra- and inter-op threads. seed: for Keras's initialisers.
        epoch_delay: seconds to pause after each epoch (demos).

    Returns:
        What it reported with :func:`keraslab.results.write_result`, as a dict.

    Example::

        train_worker(run="my-run", epochs=2, samples=2000, fresh=True)["test_accuracy"]
    """
    import keras
    import numpy as np

    strategy = _start(threads, seed)
    worker = _worker(strategy, notebook, run, batch_size, fresh)
    train, test = _mnist_subset(samples, test_samples)
    model, optimizer, checkpoint, epoch = restore(worker, learning_rate, fresh=fresh)
    resumed_from = int(epoch.numpy())
    train_dist, test_dist, steps = datasets(worker, train, test)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    train_step = make_train_step(strategy, model, optimizer, loss_fn, worker.global_batch)
    mean_loss, correct_count = eval_steps(worker, model, loss_fn)
    losses = train_epochs(worker, train_step, train_dist, checkpoint, epoch, epochs, epoch_delay)

    if not losses:  # nothing left to train: report the checkpoint's training loss
        losses = [sum(float(mean_loss(inputs, targets)) for inputs, targets in train_dist) / steps]
    accuracy = sum(int(correct_count(inputs, targets)) for inputs, targets in test_dist) / len(test[1])
    print(
        f"done epochs={epochs} resumed_from_epoch={resumed_from} final_loss={losses[-1]:.6f} "
        f"test_accuracy={accuracy:.4f}",
        flush=True,
    )
    checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
    result = {"final_loss": losses[-1], "test_accuracy": accuracy, "weights_checksum": checksum}
    write_result(result)
    return {"resumed_from_epoch": resumed_from, **result}


def fit_worker(*, epochs: int = 1, samples: int = 512, batch_size: int = 32, threads: int = 1) -> float:
    """Train lesson 03's ``model_fn()`` with Keras ``fit()`` under :func:`strategy_from_env`'s strategy.

    The check for a Keras upgrade: with Keras 3.15.1 under ``MultiWorkerMirroredStrategy`` this
    crashes at the start of training (``Attempt to convert a value (PerReplica ...)``); when it
    passes, ``fit()`` can replace the custom loop of :func:`train_worker`.

    Args:
        epochs, samples, batch_size: how long, on how many MNIST images, with what batch per replica.
        threads: TensorFlow's intra- and inter-op threads.

    Returns:
        The last epoch's loss (also reported as ``fit_loss``).

    Example::

        python -m keraslab.worker --keras-fit --epochs 1 --samples 512
    """
    from keraslab import models

    strategy = _start(threads, 42)
    (x, y), _ = _mnist_subset(samples, 1)
    with strategy.scope():
        model = models.model_fn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=global_batch_size(batch_size, strategy), verbose=0)
    loss = history.history["loss"][-1]
    print(f"fit() finished: loss={loss:.6f}", flush=True)
    write_result({"fit_loss": loss})
    return loss


def _parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m keraslab.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--notebook", default="07_distributed", help="lesson short name (folder under checkpoints/)")
    parser.add_argument("--run", default="multi-worker", help="run name (checkpoints/<notebook>/<run>)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--samples", type=int, default=6000, help="MNIST training images used")
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32, help="per replica; the global batch is this x replicas")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads")
    parser.add_argument("--epoch-delay", type=float, default=0.0, help="seconds to pause after each epoch (demos)")
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming from a checkpoint")
    parser.add_argument(
        "--keras-fit",
        action="store_true",
        help="train with Keras fit() instead of the custom loop (no checkpoints): checks whether this Keras "
        "release runs fit() under MultiWorkerMirroredStrategy",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.worker [options]``: one worker (``TF_CONFIG`` from the environment).

    An exception is reported as ``error`` in the JSON result (its type and message), then raised.
    """
    args = _parser().parse_args(argv)
    try:
        if args.keras_fit:
            fit_worker(epochs=args.epochs, samples=args.samples, batch_size=args.batch_size, threads=args.threads)
        else:
            options = {k: v for k, v in vars(args).items() if k != "keras_fit"}
            train_worker(**options)
    except Exception as exc:
        write_result({"error": "".join(traceback.format_exception_only(exc)).strip()})
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
