"""Distributed training (분산 학습) with TensorFlow's distribution strategies (전략).

The same ``keraslab`` models, data and callbacks, spread over several devices or
machines:

- :func:`strategy_from_env` picks the strategy from what it finds:
  ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set (one process per
  machine), ``MirroredStrategy`` when more than one GPU (or configured logical
  device) is visible, TensorFlow's default strategy otherwise. It prints which
  one it chose and the number of replicas (복제본) kept in sync.
- :func:`configure_logical_cpus` splits the CPU into logical devices, so a
  CPU-only machine can try ``MirroredStrategy`` (it must run before TensorFlow
  initialises its devices).
- :func:`global_batch_size`: the batch of one step across all replicas.
- :func:`parse_tf_config`, :func:`task_of`, :func:`is_chief`: who this worker is.
- :func:`write_dir`: the chief writes checkpoints and logs to the real folder,
  every other worker to a temporary folder that is removed afterwards.
- :func:`train_worker` (``python -m keraslab.distribute worker ...``): one worker
  of a multi-worker job, a custom training loop (``strategy.run``,
  ``strategy.reduce``) with ``tf.train.CheckpointManager`` for fault tolerance.
- :func:`run_job`: start the workers of a job on 127.0.0.1, each with its own
  ``TF_CONFIG``, optionally kill one mid-run; always bounded in time.

Why a custom loop for several workers: with Keras 3.15.1 (pinned here),
``fit()`` under ``MultiWorkerMirroredStrategy`` crashes on every worker at the
start of training (``Attempt to convert a value (PerReplica ...) to a Tensor``,
an open Keras bug). ``fit()`` works under ``MirroredStrategy`` (one process).

Example (one machine, two logical CPUs)::

    import tensorflow as tf
    from keraslab import distribute
    distribute.configure_logical_cpus(2)     # first thing after importing tensorflow
    strategy = distribute.strategy_from_env()
    # Strategy: MirroredStrategy, replicas in sync: 2 (/CPU:0, /CPU:1)
    with strategy.scope():
        model = get_mnist_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=distribute.global_batch_size(64, strategy))

A two-worker job on this machine::

    python -m keraslab.distribute job --workers 2 -- --epochs 6 --run two-workers --fresh
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "configure_logical_cpus",
    "strategy_from_env",
    "describe",
    "global_batch_size",
    "parse_tf_config",
    "task_of",
    "is_chief",
    "make_tf_config",
    "free_ports",
    "write_dir",
    "worker_temp_dir",
    "write_target",
    "train_worker",
    "fit_worker",
    "parse_epoch_lines",
    "WorkerResult",
    "JobResult",
    "run_job",
    "main",
]


# --------------------------------------------------------------------------- devices and strategies
def configure_logical_cpus(count: int = 2) -> list[str]:
    """Split the first physical CPU into ``count`` logical devices; return their names.

    Must run before anything initialises TensorFlow's devices (creating a tensor,
    a model or a strategy, listing logical devices): put it right after
    ``import tensorflow``. The logical devices share the same cores, so they make
    ``MirroredStrategy`` *runnable* on a CPU-only machine, not faster.

    Raises:
        ValueError: ``count`` < 1.
        RuntimeError: TensorFlow's devices are already initialised (with the fix).
    """
    import tensorflow as tf

    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError as exc:
        raise RuntimeError(
            f"cannot split the CPU into {count} logical devices: TensorFlow has already initialised its devices "
            f"({exc}). Call configure_logical_cpus() right after `import tensorflow`, before any tensor, model "
            "or strategy exists (in a notebook: restart the kernel)."
        ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def describe(strategy) -> str:
    """One line: the strategy's class, its replicas and (for one process) its devices."""
    import tensorflow as tf

    name = type(strategy).__name__
    replicas = strategy.num_replicas_in_sync
    if name == "_DefaultDistributionStrategy":
        return f"Strategy: default (no distribution), replicas in sync: {replicas}"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        config = parse_tf_config()
        task_type, task_id = task_of(config)
        workers = sum(len(v) for k, v in config.get("cluster", {}).items() if k in ("chief", "worker"))
        role = "chief" if is_chief(config) else "not chief"
        where = f"{task_type} {task_id} of {workers}, {role}"
        return f"Strategy: MultiWorkerMirroredStrategy, replicas in sync: {replicas} ({where})"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        devices = ", ".join("/" + d.split("/")[-1].replace("device:", "") for d in strategy.extended.worker_devices)
        return f"Strategy: MirroredStrategy, replicas in sync: {replicas} ({devices})"
    return f"Strategy: {name}, replicas in sync: {replicas}"


def strategy_from_env(*, verbose: bool = True):
    """The distribution strategy for where this process runs.

    - ``TF_CONFIG`` set (not empty): ``tf.distribute.MultiWorkerMirroredStrategy``,
      one process per worker; create it at the start of the program, before
      other TensorFlow work.
    - one GPU or more visible: ``tf.distribute.MirroredStrategy`` over them (one
      replica per GPU; with a single GPU that is one replica, the same code path).
    - no GPU, more than one logical CPU device (see :func:`configure_logical_cpus`):
      ``MirroredStrategy`` over those.
    - otherwise TensorFlow's default strategy (no distribution, 1 replica), so the
      same ``with strategy.scope():`` code runs everywhere.

    Prints which strategy it chose and ``num_replicas_in_sync`` when ``verbose``.
    """
    import tensorflow as tf

    if parse_tf_config():
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        if gpus:
            strategy = tf.distribute.MirroredStrategy([d.name for d in gpus])
        elif not gpus and len(cpus) > 1:
            strategy = tf.distribute.MirroredStrategy([d.name for d in cpus])
        else:
            strategy = tf.distribute.get_strategy()
    if verbose:
        print(describe(strategy), flush=True)
    return strategy


def global_batch_size(per_replica: int, strategy_or_replicas) -> int:
    """The batch of one training step across all replicas: ``per_replica × replicas``.

    >>> global_batch_size(64, 2)
    128
    """
    replicas = (
        strategy_or_replicas
        if isinstance(strategy_or_replicas, int)
        else int(strategy_or_replicas.num_replicas_in_sync)
    )
    if per_replica < 1 or replicas < 1:
        raise ValueError(f"per_replica and the number of replicas must be >= 1, got {per_replica} and {replicas}")
    return per_replica * replicas


# --------------------------------------------------------------------------- TF_CONFIG
def parse_tf_config(tf_config: str | Mapping | None = None) -> dict:
    """``TF_CONFIG`` as a dict (``{}`` when unset or empty).

    Args:
        tf_config: a JSON string or a dict; ``None`` reads the ``TF_CONFIG``
            environment variable.

    Raises:
        ValueError: not JSON, or a ``task`` that is not in ``cluster``.

    >>> parse_tf_config('{"cluster": {"worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker", "index": 1}}')
    {'cluster': {'worker': ['h1:2222', 'h2:2222']}, 'task': {'type': 'worker', 'index': 1}}
    """
    if tf_config is None:
        tf_config = os.environ.get("TF_CONFIG", "")
    if isinstance(tf_config, Mapping):
        config = dict(tf_config)
    else:
        if not tf_config.strip():
            return {}
        try:
            config = json.loads(tf_config)
        except json.JSONDecodeError as exc:
            raise ValueError(f"TF_CONFIG is not valid JSON ({exc}): {tf_config[:200]!r}") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {type(config).__name__}")
    task = config.get("task") or {}
    cluster = config.get("cluster") or {}
    if task:
        task_type, index = task.get("type"), int(task.get("index", 0))
        if task_type not in cluster or not 0 <= index < len(cluster[task_type]):
            raise ValueError(
                f"TF_CONFIG task {task_type!r} {index} is not in its cluster {sorted(cluster)} "
                f"({ {k: len(v) for k, v in cluster.items()} })"
            )
    return config


def task_of(tf_config: str | Mapping | None = None) -> tuple[str | None, int | None]:
    """``(task type, task index)`` from ``TF_CONFIG``; ``(None, None)`` without one."""
    task = parse_tf_config(tf_config).get("task") or {}
    if not task:
        return None, None
    return task.get("type"), int(task.get("index", 0))


def is_chief(tf_config: str | Mapping | None = None) -> bool:
    """Is this process the chief, the one that writes checkpoints and logs?

    The ``chief`` task when the cluster has one, else worker 0; a process without
    ``TF_CONFIG`` is its own chief.

    >>> is_chief({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}})
    True
    >>> is_chief({"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}})
    False
    """
    config = parse_tf_config(tf_config)
    task_type, index = task_of(config)
    if task_type is None:
        return True
    if "chief" in config.get("cluster", {}):
        return task_type == "chief"
    return task_type == "worker" and index == 0


def make_tf_config(addresses: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in a cluster of ``addresses``.

    >>> make_tf_config(["127.0.0.1:5000", "127.0.0.1:5001"], 1)
    '{"cluster": {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]}, "task": {"type": "worker", "index": 1}}'
    """
    if not 0 <= index < len(addresses):
        raise ValueError(f"index {index} is not in 0..{len(addresses) - 1}")
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports that were free on ``host`` a moment ago (bind to port 0, then release)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


# --------------------------------------------------------------------------- where to write
def worker_temp_dir(folder: str | os.PathLike[str], tf_config: str | Mapping | None = None) -> Path:
    """The temporary folder a non-chief worker writes instead of ``folder``.

    Named after the task and the last parts of ``folder`` under the system's temp
    folder, so a restarted worker finds (and removes) what a killed one left.
    """
    task_type, index = task_of(tf_config)
    tail = "-".join(Path(folder).parts[-3:])
    return Path(tempfile.gettempdir()) / f"keraslab-{task_type}{index}-{tail}"


def write_target(folder: str | os.PathLike[str], tf_config: str | Mapping | None = None) -> Path:
    """The folder :func:`write_dir` hands this worker for ``folder`` (without creating it)."""
    return Path(folder) if is_chief(tf_config) else worker_temp_dir(folder, tf_config)


@contextlib.contextmanager
def write_dir(folder: str | os.PathLike[str], tf_config: str | Mapping | None = None) -> Iterator[Path]:
    """Where this worker writes what belongs in ``folder``.

    The chief gets ``folder`` itself (created). Every other worker gets a fresh
    temporary folder, removed when the ``with`` block ends: all workers must take
    part in saving (saving may need collective ops), but only the chief's copy
    is kept. This is the pattern of TensorFlow's multi-worker training guide.
    """
    folder = Path(folder)
    if is_chief(tf_config):
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    tmp = worker_temp_dir(folder, tf_config)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- one worker
def _mnist_subset(samples: int, test_samples: int):
    import numpy as np

    from keraslab.data import load_mnist

    (x, y), (x_test, y_test) = load_mnist()
    x = (x[:samples] / np.float32(255)).astype("float32")
    x_test = (x_test[:test_samples] / np.float32(255)).astype("float32")
    return (x, y[:samples].astype("int64")), (x_test, y_test[:test_samples].astype("int64"))


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
    """Train one worker of a job (or a single process without ``TF_CONFIG``).

    A custom training loop under :func:`strategy_from_env`'s strategy: lesson
    03's ``model_fn()`` (no dropout, so a run on any number of workers computes
    the same losses) on the first ``samples`` MNIST training images, unshuffled,
    in global batches of ``batch_size × replicas`` with Adam.

    Fault tolerance: ``tf.train.Checkpoint`` (model, optimizer, epoch counter)
    saved by a ``tf.train.CheckpointManager`` after every epoch into
    ``checkpoints/<notebook>/<run>`` (the chief; the others into temporary
    folders, see :func:`write_dir`). On start, every worker restores the chief's
    latest checkpoint (unless ``fresh``) and continues after its epoch. The chief
    also logs ``epoch_loss`` for TensorBoard to ``logs/<notebook>/<run>``.

    Prints ``epoch E/N loss=L`` after each epoch is saved, then
    ``done epochs=N resumed_from_epoch=R final_loss=L test_accuracy=A``.
    Returns those values as a dict.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from keraslab import models, paths

    # Threads first: they cannot change once TensorFlow has started.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    strategy = strategy_from_env()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    config = parse_tf_config()
    chief = is_chief(config)
    global_batch = global_batch_size(batch_size, strategy)
    (x, y), (x_test, y_test) = _mnist_subset(samples, test_samples)

    # The chief owns the real folders; a fresh start empties them (only the chief touches them).
    if chief:
        run_folders = paths.new_run(notebook, run, fresh=fresh)
        checkpoint_dir, log_dir = run_folders.checkpoint_dir, run_folders.log_dir
    else:
        checkpoint_dir = paths.checkpoints_dir() / notebook / run
        log_dir = paths.logs_dir() / notebook / run

    # Model and optimizer variables are created under the strategy's scope: mirrored on every replica.
    with strategy.scope():
        model = models.model_fn()
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
    epoch_counter = tf.Variable(0, dtype=tf.int64, name="epoch", trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_counter)

    latest = None if fresh else tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
    resumed_from = int(epoch_counter.numpy())
    if resumed_from:
        print(f"resumed from epoch {resumed_from} ({Path(latest).name})", flush=True)

    # Input pipeline: global batches, split across replicas by the strategy (each worker gets its share).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch, drop_remainder=True)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(global_batch)
    train_dist = strategy.experimental_distribute_dataset(train_ds.with_options(options))
    test_dist = strategy.experimental_distribute_dataset(test_ds.with_options(options))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    @tf.function
    def train_step(inputs, targets):
        def step_fn(inputs, targets):
            with tf.GradientTape() as tape:
                # Forward pass
                predictions = model(inputs, training=True)
                # Per-example losses, averaged over the *global* batch
                loss = tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=global_batch)
            # Compute gradients
            gradients = tape.gradient(loss, model.trainable_variables)
            # Update weights (Keras sums the gradients of all replicas first)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return loss

        per_replica_loss = strategy.run(step_fn, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None)

    @tf.function
    def correct_count(inputs, targets):
        def count_fn(inputs, targets):
            predicted = tf.argmax(model(inputs, training=False), axis=1)
            return tf.reduce_sum(tf.cast(tf.equal(predicted, targets), tf.int64))

        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(count_fn, args=(inputs, targets)), axis=None)

    @tf.function
    def mean_loss(inputs, targets):
        def loss_fn_replica(inputs, targets):
            predictions = model(inputs, training=False)
            return tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=global_batch)

        return strategy.reduce(
            tf.distribute.ReduceOp.SUM, strategy.run(loss_fn_replica, args=(inputs, targets)), axis=None
        )

    where = "" if chief else " (temporary, removed)"
    print(
        f"writes checkpoints to {paths.relative(write_target(checkpoint_dir, config))}{where}, "
        f"logs to {paths.relative(write_target(log_dir, config))}{where}",
        flush=True,
    )
    epoch_loss = float("nan")
    with write_dir(log_dir, config) as log_write_dir:
        writer = tf.summary.create_file_writer(str(log_write_dir / "train"))
        for epoch in range(resumed_from + 1, epochs + 1):
            total, steps = 0.0, 0
            for inputs, targets in train_dist:
                total += float(train_step(inputs, targets))
                steps += 1
            epoch_loss = total / steps
            epoch_counter.assign(epoch)
            # Every worker saves (the others into a temporary folder, removed at once)
            with write_dir(checkpoint_dir, config) as checkpoint_write_dir:
                manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_write_dir), max_to_keep=2)
                manager.save(checkpoint_number=epoch)
            with writer.as_default():
                tf.summary.scalar("epoch_loss", epoch_loss, step=epoch)
            writer.flush()
            print(f"epoch {epoch}/{epochs} loss={epoch_loss:.6f}", flush=True)
            if epoch_delay:
                time.sleep(epoch_delay)
            if os.environ.get(HOLD_AFTER_EPOCH) == str(epoch):
                time.sleep(3600)  # run_job's victim: wait here to be killed, so no other worker passes this epoch
        writer.close()

    if resumed_from >= epochs:  # nothing left to train: report the checkpoint's training loss
        epoch_loss = sum(float(mean_loss(inputs, targets)) for inputs, targets in train_dist) / len(train_ds)
    correct = sum(int(correct_count(inputs, targets)) for inputs, targets in test_dist)
    accuracy = correct / len(y_test)
    print(
        f"done epochs={epochs} resumed_from_epoch={resumed_from} final_loss={epoch_loss:.6f} "
        f"test_accuracy={accuracy:.4f}",
        flush=True,
    )
    return {
        "epochs": epochs,
        "resumed_from_epoch": resumed_from,
        "final_loss": epoch_loss,
        "test_accuracy": accuracy,
        "weights_checksum": float(sum(np.abs(w).sum() for w in model.get_weights())),
    }


def fit_worker(*, epochs: int = 1, samples: int = 512, batch_size: int = 32, threads: int = 1) -> None:
    """Train lesson 03's ``model_fn()`` with Keras ``fit()`` under :func:`strategy_from_env`'s strategy.

    The check for a Keras upgrade: with Keras 3.15.1 under
    ``MultiWorkerMirroredStrategy`` this crashes at the start of training
    (``Attempt to convert a value (PerReplica ...)``); when it passes, ``fit()``
    can replace the custom loop of :func:`train_worker`.
    """
    import keras
    import tensorflow as tf

    from keraslab import models

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    strategy = strategy_from_env()
    keras.utils.set_random_seed(42)
    (x, y), _ = _mnist_subset(samples, 1)
    with strategy.scope():
        model = models.model_fn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, batch_size=global_batch_size(batch_size, strategy), verbose=0)
    print(f"fit() finished: loss={history.history['loss'][-1]:.6f}", flush=True)


def parse_epoch_lines(lines: Sequence[str]) -> list[tuple[int, float]]:
    """``[(epoch, loss), ...]`` from a worker's ``epoch E/N loss=L`` lines.

    >>> parse_epoch_lines(["resumed from epoch 2 (ckpt-2)", "epoch 3/4 loss=0.250000", "epoch 4/4 loss=0.125000"])
    [(3, 0.25), (4, 0.125)]
    """
    out = []
    for line in lines:
        if line.startswith("epoch "):
            head, loss = line.split(" loss=")
            out.append((int(head.split()[1].split("/")[0]), float(loss)))
    return out


# --------------------------------------------------------------------------- a job of several workers
@dataclass
class WorkerResult:
    """What one worker process did: its index, exit code, stdout lines and stderr tail."""

    index: int
    returncode: int | None
    lines: list[str] = field(default_factory=list)
    stderr_tail: str = ""

    @property
    def epochs(self) -> list[int]:
        """The epochs this worker finished (and saved), in order."""
        return [epoch for epoch, _ in parse_epoch_lines(self.lines)]

    @property
    def done_line(self) -> str | None:
        """The final ``done ...`` line, if the worker got there."""
        return next((line for line in self.lines if line.startswith("done ")), None)

    @property
    def error_line(self) -> str | None:
        """The last stderr line naming an error (why a worker stopped), if any."""
        found = [line for line in self.stderr_tail.splitlines() if _EXCEPTION_LINE.match(line)]
        return found[-1].strip() if found else None


@dataclass
class JobResult:
    """The workers of one job, whether one was killed, whether it ran out of time, and its wall time."""

    workers: list[WorkerResult]
    killed: int | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every worker exited with 0."""
        return not self.timed_out and all(w.returncode == 0 for w in self.workers)

    @property
    def chief(self) -> WorkerResult:
        return self.workers[0]


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b")


def _reader(index: int, stream, out: queue.Queue) -> None:
    for line in stream:
        out.put((index, line.rstrip("\n")))
    out.put((index, None))


HOLD_AFTER_EPOCH = "KERASLAB_HOLD_AFTER_EPOCH"


def run_job(
    num_workers: int,
    worker_args: Sequence[str] = (),
    *,
    timeout: float = 300,
    kill_worker: int | None = None,
    kill_after_epoch: int | None = None,
    kill_delay: float = 0.1,
    env: Mapping[str, str] | None = None,
    echo: bool = True,
    host: str = "127.0.0.1",
) -> JobResult:
    """Run a job of ``num_workers`` workers on ``host``, each a ``python -m keraslab.distribute worker`` process.

    Each worker gets its own ``TF_CONFIG`` (ports found free just before). Output
    lines are collected (and printed as ``[worker i] ...`` when ``echo``).

    Args:
        worker_args: arguments for the worker (see ``python -m keraslab.distribute worker -h``).
        timeout: seconds for the whole job; then every worker is killed and
            ``timed_out`` is set.
        kill_worker, kill_after_epoch, kill_delay: SIGKILL worker ``kill_worker``
            ``kill_delay`` seconds after every worker reported (and so saved) epoch
            ``kill_after_epoch``. The victim holds after that epoch (it gets
            ``KERASLAB_HOLD_AFTER_EPOCH``), so no worker can finish the next
            epoch without it, however fast or slow the machine: every worker has
            saved exactly ``kill_after_epoch`` epochs. The other workers then
            abort on their own; the job must be restarted.
        env: extra environment variables for the workers. ``CUDA_VISIBLE_DEVICES`` is
            ``""`` unless set here: the workers share one machine, so they use its CPU.

    Workers still running when this returns (or raises) are killed.
    """
    addresses = [f"{host}:{port}" for port in free_ports(num_workers, host)]
    procs: list[subprocess.Popen] = []
    stderr_files = []
    lines: list[list[str]] = [[] for _ in range(num_workers)]
    out: queue.Queue = queue.Queue()
    killed = None
    timed_out = False
    start = time.monotonic()
    kill_at = None
    try:
        for index in range(num_workers):
            worker_env = dict(os.environ)
            # Workers of one machine would each claim all of every GPU's memory: they train on the CPU
            # unless ``env`` says otherwise (the job is a fault-tolerance demo, not a speed-up).
            worker_env["CUDA_VISIBLE_DEVICES"] = ""
            worker_env.update(env or {})
            if index == kill_worker and kill_after_epoch is not None:
                worker_env[HOLD_AFTER_EPOCH] = str(kill_after_epoch)
            worker_env.update(TF_CONFIG=make_tf_config(addresses, index), PYTHONUNBUFFERED="1")
            err = tempfile.TemporaryFile(mode="w+", prefix=f"keraslab-worker{index}-stderr-")
            stderr_files.append(err)
            proc = subprocess.Popen(
                [sys.executable, "-m", "keraslab.distribute", "worker", *worker_args],
                env=worker_env,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            procs.append(proc)
            threading.Thread(target=_reader, args=(index, proc.stdout, out), daemon=True).start()
        open_streams = num_workers
        while open_streams:
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                timed_out = True
                break
            if kill_at is not None and time.monotonic() >= kill_at and killed is None:
                procs[kill_worker].send_signal(signal.SIGKILL)
                killed = kill_worker
                if echo:
                    print(f"[job] killed worker {kill_worker} (SIGKILL)", flush=True)
            wait = remaining if kill_at is None or killed is not None else max(0.0, kill_at - time.monotonic())
            try:
                index, line = out.get(timeout=min(wait, 1.0))
            except queue.Empty:
                continue
            if line is None:
                open_streams -= 1
                continue
            lines[index].append(line)
            if echo:
                print(f"[worker {index}] {line}", flush=True)
            if (
                kill_worker is not None
                and kill_at is None
                and all(any(seen.startswith(f"epoch {kill_after_epoch}/") for seen in got) for got in lines)
            ):
                kill_at = time.monotonic() + kill_delay
        for proc in procs:
            try:
                proc.wait(timeout=max(1.0, timeout - (time.monotonic() - start)))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = []
    for index, proc in enumerate(procs):
        stderr_files[index].seek(0)
        tail = stderr_files[index].read()[-20000:]
        stderr_files[index].close()
        results.append(WorkerResult(index, proc.returncode, lines[index], tail))
    return JobResult(results, killed, timed_out, time.monotonic() - start)


# --------------------------------------------------------------------------- command line
def _worker_parser(parser):
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


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.distribute worker ...`` (one worker; reads ``TF_CONFIG``)
    or ``python -m keraslab.distribute job --workers N -- <worker args>`` (N workers on 127.0.0.1)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m keraslab.distribute", description=main.__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run one worker (TF_CONFIG from the environment)")
    _worker_parser(worker)
    job = sub.add_parser("job", help="run a job of several workers on 127.0.0.1")
    job.add_argument("--workers", type=int, default=2)
    job.add_argument("--timeout", type=float, default=600)
    job.add_argument("worker_args", nargs=argparse.REMAINDER, help="arguments for each worker, after --")
    args = parser.parse_args(argv)

    if args.command == "worker" and args.keras_fit:
        fit_worker(epochs=args.epochs, samples=args.samples, batch_size=args.batch_size, threads=args.threads)
        return 0
    if args.command == "worker":
        train_worker(
            notebook=args.notebook,
            run=args.run,
            epochs=args.epochs,
            samples=args.samples,
            test_samples=args.test_samples,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            fresh=args.fresh,
            threads=args.threads,
            epoch_delay=args.epoch_delay,
        )
        return 0
    worker_args = [a for a in args.worker_args if a != "--"]
    result = run_job(args.workers, worker_args, timeout=args.timeout)
    for w in result.workers:
        if w.returncode != 0:
            print(f"[worker {w.index}] exit code {w.returncode}: {w.error_line}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
