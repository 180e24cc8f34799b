"""Lesson 07's worker: one process of a multi-worker job, lesson 07's custom loop with a checkpoint every epoch.

Start one per worker, each with its own TF_CONFIG (lesson 07 starts two with keraslab.jobs.run_job):

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:20000", "127.0.0.1:20001"]},
                "task": {"type": "worker", "index": 0}}' \\
        python notebooks/scripts/mnist_worker.py --run two-workers --report-dir REPORTS --fresh

Without TF_CONFIG it trains alone, under TensorFlow's default strategy. It trains lesson 03's
model_fn() on the first --samples MNIST images, unshuffled, in global batches of --batch-size x
replicas. After every epoch it saves a checkpoint (the chief into checkpoints/07_distributed/<run>,
the others into a temporary folder, removed at once) and writes what it did to
REPORTS/worker<index>.json. --keras-fit trains with Keras fit() instead (no checkpoints).
"""

import argparse
import json
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keraslab import paths
from keraslab.data import load_mnist
from keraslab.models import model_fn

parser = argparse.ArgumentParser(description="one worker of lesson 07's multi-worker job")
parser.add_argument("--run", default="multi-worker", help="checkpoints/07_distributed/<run>, logs/07_distributed/<run>")
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--samples", type=int, default=6000, help="MNIST training images used")
parser.add_argument("--batch-size", type=int, default=32, help="per replica; the global batch is this x replicas")
parser.add_argument("--report-dir", help="where to write worker<index>.json")
parser.add_argument("--fresh", action="store_true", help="start over instead of resuming from a checkpoint")
parser.add_argument("--keras-fit", action="store_true", help="train with Keras fit() instead of the custom loop")
args = parser.parse_args()

# Who am I? TF_CONFIG lists the cluster and this worker's place in it; worker 0 is the chief
tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
index = tf_config.get("task", {}).get("index", 0)
chief = index == 0
report = {"chief": chief}


def save_report(**values):
    """Add ``values`` to this worker's report file (written whole, then renamed: never half a file)."""
    report.update(values)
    if args.report_dir:
        path = Path(args.report_dir) / f"worker{index}.json"
        path.with_suffix(".tmp").write_text(json.dumps(report))
        os.replace(path.with_suffix(".tmp"), path)


def train():
    # One thread each (two workers share this machine), then the strategy, before any other TensorFlow work
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if tf_config else tf.distribute.get_strategy()
    keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    replicas = strategy.num_replicas_in_sync
    name = "MultiWorkerMirroredStrategy" if tf_config else "default strategy"
    print(f"worker {index} ({'chief' if chief else 'not chief'}): {name}, replicas in sync: {replicas}", flush=True)
    global_batch = args.batch_size * replicas

    (x, y), (x_test, y_test) = load_mnist()
    x, y = (x[: args.samples] / np.float32(255)).astype("float32"), y[: args.samples].astype("int64")
    x_test, y_test = (x_test[:2000] / np.float32(255)).astype("float32"), y_test[:2000].astype("int64")

    if args.keras_fit:  # Keras fit() under the strategy: with Keras 3.15.1 it crashes under MultiWorkerMirroredStrategy
        with strategy.scope():
            model = model_fn()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=args.epochs, batch_size=global_batch, verbose=0)
        save_report(fit_loss=history.history["loss"][-1])
        return

    # Only the chief writes the real folders; every worker must take part in saving, the others into a temp folder
    checkpoint_dir = paths.checkpoints_dir() / "07_distributed" / args.run
    log_dir = paths.logs_dir() / "07_distributed" / args.run
    if chief and args.fresh:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        shutil.rmtree(log_dir, ignore_errors=True)
    write_to = checkpoint_dir if chief else Path(tempfile.gettempdir()) / f"keraslab-worker{index}-{args.run}"
    print(f"writes checkpoints to {paths.relative(write_to)}{'' if chief else ' (temporary, removed)'}", flush=True)
    save_report(checkpoint_dir=str(write_to), log_dir=str(log_dir) if chief else None)

    # Model and optimizer under the strategy's scope; every worker restores the chief's latest checkpoint
    with strategy.scope():
        model = model_fn()
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(model.trainable_variables)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # the last epoch saved
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    latest = None if args.fresh else tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        print(f"resumed from epoch {int(epoch)} ({Path(latest).name})", flush=True)
    resumed_from = int(epoch)
    save_report(resumed_from_epoch=resumed_from)

    # Each worker reads everything and keeps its share of every global batch
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch, drop_remainder=True)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(global_batch)
    train_dist = strategy.experimental_distribute_dataset(train_ds.with_options(options))
    test_dist = strategy.experimental_distribute_dataset(test_ds.with_options(options))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(inputs, targets):  # the training step of the lesson's custom loop
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    def replica_correct(inputs, targets):
        predicted = tf.argmax(model(inputs, training=False), axis=1)
        return tf.reduce_sum(tf.cast(predicted == targets, tf.int64))

    @tf.function
    def train_step(inputs, targets):
        per_replica_losses = strategy.run(replica_step, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses, axis=None)

    @tf.function
    def correct_count(inputs, targets):
        per_replica_counts = strategy.run(replica_correct, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_counts, axis=None)

    writer = tf.summary.create_file_writer(str(log_dir / "train")) if chief else None
    done, losses = [], []
    for number in range(resumed_from + 1, args.epochs + 1):
        step_losses = [float(train_step(inputs, targets)) for inputs, targets in train_dist]
        losses.append(sum(step_losses) / len(step_losses))
        epoch.assign(number)
        tf.train.CheckpointManager(checkpoint, str(write_to), max_to_keep=2).save(checkpoint_number=number)
        if chief:
            with writer.as_default():
                tf.summary.scalar("epoch_loss", losses[-1], step=number)
            writer.flush()
        else:
            shutil.rmtree(write_to, ignore_errors=True)
        done.append(number)
        save_report(epochs=done, losses=losses)
        print(f"epoch {number}/{args.epochs} loss={losses[-1]:.6f}", flush=True)
        if os.environ.get("KERASLAB_HOLD_AFTER_EPOCH") == str(number):
            time.sleep(3600)  # the lesson's victim waits here to be killed: no worker gets past this epoch

    accuracy = sum(int(correct_count(inputs, targets)) for inputs, targets in test_dist) / len(y_test)
    checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
    save_report(test_accuracy=accuracy, weights_checksum=checksum)
    print(f"done: epochs {resumed_from + 1}-{args.epochs}, test accuracy {accuracy:.4f}", flush=True)


try:
    train()
except Exception as exc:
    save_report(error="".join(traceback.format_exception_only(exc)).strip())
    raise
