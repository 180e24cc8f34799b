"""What lesson 07 calls to train under a ``tf.distribute`` strategy: the strategy, the batch, the step, the folders.

- :func:`strategy_from_env` picks the strategy for where this process runs:
  ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set (one process per
  machine), ``MirroredStrategy`` when a GPU (or more than one logical CPU device)
  is visible, TensorFlow's default strategy otherwise. It prints which one it
  chose and the number of replicas (복제본) kept in sync (:func:`describe`).
- :func:`configure_logical_cpus` splits the CPU into logical devices, so a
  CPU-only machine can try ``MirroredStrategy`` (it must run before TensorFlow
  initialises its devices).
- :func:`global_batch_size`: the batch of one step across all replicas.
- :func:`make_train_step`: the custom training step of lesson 07 (each replica's
  loss averaged over the *global* batch), the one the multi-worker job runs too;
  :func:`sum_over_replicas` is its ``strategy.reduce(strategy.run(...))``.
- :func:`write_dir`: the chief writes checkpoints and logs to the real folder,
  every other worker to a temporary folder that is removed afterwards.

Who this process is in a cluster (``TF_CONFIG``) is :mod:`keraslab.cluster`'s job;
one worker of a multi-worker job is :mod:`keraslab.worker`; a job of several
workers on this machine is :mod:`keraslab.jobs`.

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
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from keraslab.cluster import TFConfig, cluster_size, is_chief, parse_tf_config, task_of

__all__ = [
    "configure_logical_cpus",
    "strategy_from_env",
    "describe",
    "global_batch_size",
    "sum_over_replicas",
    "make_train_step",
    "write_dir",
    "worker_temp_dir",
    "write_target",
]


# --------------------------------------------------------------------------- devices and strategies
def configure_logical_cpus(count: int = 2) -> list[str]:
    """Split the first physical CPU into ``count`` logical devices; return their names.

    Must run before anything initialises TensorFlow's devices (creating a tensor,
    a model or a strategy, listing logical devices): put it right after
    ``import tensorflow``. The logical devices share the same cores, so they make
    ``MirroredStrategy`` *runnable* on a CPU-only machine, not faster.

    Args:
        count: how many logical CPU devices.

    Raises:
        ValueError: ``count`` < 1.
        RuntimeError: TensorFlow's devices are already initialised (with the fix).

    Example::

        import tensorflow as tf
        configure_logical_cpus(2)   # ['/device:CPU:0', '/device:CPU:1']
    """
    import tensorflow as tf

    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}: ask for at least one logical CPU device")
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
    """One line: the strategy's class, its replicas and (for one process) its devices, or (for several) this worker.

    Args:
        strategy: a ``tf.distribute`` strategy.

    Example::

        describe(tf.distribute.get_strategy())
        # 'Strategy: default (no distribution), replicas in sync: 1'
    """
    import tensorflow as tf

    name = type(strategy).__name__
    replicas = strategy.num_replicas_in_sync
    if name == "_DefaultDistributionStrategy":
        return f"Strategy: default (no distribution), replicas in sync: {replicas}"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        config = parse_tf_config()
        task_type, task_id = task_of(config)
        workers = cluster_size(config)
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

    Args:
        verbose: print which strategy it chose and ``num_replicas_in_sync`` (:func:`describe`).

    Example::

        strategy = strategy_from_env()
        # Strategy: MirroredStrategy, replicas in sync: 2 (/CPU:0, /CPU:1)
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

    Args:
        per_replica: the examples each replica trains on in one step.
        strategy_or_replicas: a strategy, or its ``num_replicas_in_sync``.

    >>> global_batch_size(64, 2)
    128
    """
    replicas = (
        strategy_or_replicas
        if isinstance(strategy_or_replicas, int)
        else int(strategy_or_replicas.num_replicas_in_sync)
    )
    if per_replica < 1 or replicas < 1:
        raise ValueError(
            f"per_replica and the number of replicas must be >= 1, got {per_replica} and {replicas}: "
            "pass the batch one replica trains on and the strategy (or its num_replicas_in_sync)"
        )
    return per_replica * replicas


# --------------------------------------------------------------------------- the custom step of lesson 07
def sum_over_replicas(strategy, replica_fn: Callable, *args):
    """Run ``replica_fn(*args)`` on every replica (``strategy.run``) and add up the results (``strategy.reduce``).

    Args:
        strategy: the strategy whose replicas run ``replica_fn``.
        replica_fn: what one replica computes, on its share of ``args``.
        args: distributed values, e.g. a batch of ``strategy.experimental_distribute_dataset``.

    Returns:
        One tensor (or a nest of them, as ``replica_fn`` returns), the same on every worker.

    Example::

        @tf.function
        def correct_count(inputs, targets):
            def replica_count(inputs, targets):
                predicted = tf.argmax(model(inputs, training=False), axis=1)
                return tf.reduce_sum(tf.cast(predicted == targets, tf.int64))

            return sum_over_replicas(strategy, replica_count, inputs, targets)
    """
    import tensorflow as tf

    return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_fn, args=args), axis=None)


def make_train_step(strategy, model, optimizer, loss_fn, global_batch: int) -> Callable:
    """The training step of a custom loop under ``strategy``: a ``tf.function`` of one distributed batch.

    Each replica computes its share of the mean loss over the *global* batch and its gradients;
    the optimizer adds the replicas' gradients up and applies the same update on every replica.
    The step returns the global batch's mean loss (:func:`sum_over_replicas`).

    Args:
        strategy: the strategy the model and optimizer were created under (``strategy.scope()``).
        model, optimizer: a Keras model and optimizer, built under that scope.
        loss_fn: a Keras loss with ``reduction=None`` (one loss per example).
        global_batch: the batch of one step across all replicas (:func:`global_batch_size`).

    Example::

        train_step = make_train_step(strategy, model, optimizer, loss_fn, global_batch=64)
        for inputs, targets in strategy.experimental_distribute_dataset(dataset):
            loss = float(train_step(inputs, targets))
    """
    import tensorflow as tf

    def replica_step(inputs, targets):  # runs on each replica, on its share of the batch
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            # One loss per example, summed and divided by the *global* batch: the replicas' shares add up to the mean
            loss = tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)  # adds up the replicas' gradients first
        return loss

    @tf.function
    def train_step(inputs, targets):
        return sum_over_replicas(strategy, replica_step, inputs, targets)

    return train_step


# --------------------------------------------------------------------------- where to write
def worker_temp_dir(folder: str | os.PathLike[str], tf_config: TFConfig = None) -> Path:
    """The temporary folder a non-chief worker writes instead of ``folder``.

    Named after the task and the last parts of ``folder`` under the system's temp
    folder, so a restarted worker finds (and removes) what a killed one left.

    Args:
        folder: the folder the chief writes.
        tf_config: this worker's ``TF_CONFIG`` (default: the environment's).

    >>> worker_temp_dir("checkpoints/07_distributed/run", {"cluster": {"worker": ["a:1", "b:1"]},
    ...                 "task": {"type": "worker", "index": 1}}).name
    'keraslab-worker1-checkpoints-07_distributed-run'
    """
    task_type, index = task_of(tf_config)
    tail = "-".join(Path(folder).parts[-3:])
    return Path(tempfile.gettempdir()) / f"keraslab-{task_type}{index}-{tail}"


def write_target(folder: str | os.PathLike[str], tf_config: TFConfig = None) -> Path:
    """The folder :func:`write_dir` hands this worker for ``folder`` (without creating it).

    Args:
        folder: the folder the chief writes.
        tf_config: this worker's ``TF_CONFIG`` (default: the environment's).

    >>> write_target("logs/07_distributed/run", "")   # no cluster: this process is its own chief
    PosixPath('logs/07_distributed/run')
    """
    return Path(folder) if is_chief(tf_config) else worker_temp_dir(folder, tf_config)


@contextlib.contextmanager
def write_dir(folder: str | os.PathLike[str], tf_config: TFConfig = None) -> Iterator[Path]:
    """Where this worker writes what belongs in ``folder``.

    The chief gets ``folder`` itself (created). Every other worker gets a fresh
    temporary folder, removed when the ``with`` block ends: all workers must take
    part in saving (saving may need collective ops), but only the chief's copy
    is kept. This is the pattern of TensorFlow's multi-worker training guide.

    Args:
        folder: the folder the chief writes.
        tf_config: this worker's ``TF_CONFIG`` (default: the environment's).

    Example::

        with write_dir(checkpoint_dir) as target:
            tf.train.CheckpointManager(checkpoint, str(target), max_to_keep=2).save()
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
