"""Who this process is in a multi-worker cluster: ``TF_CONFIG`` read, checked and written.

``MultiWorkerMirroredStrategy`` finds its cluster in the ``TF_CONFIG`` environment variable: the
same ``cluster`` list of ``host:port`` addresses on every worker, a different ``task`` on each.
These helpers read it (``{}`` when there is none), say which task this process is and whether it
is the chief (치프, the worker that writes checkpoints and logs), and write one for a local job.

Example::

    from keraslab import cluster

    config = cluster.make_tf_config(["127.0.0.1:5000", "127.0.0.1:5001"], 1)
    cluster.task_of(config), cluster.is_chief(config)
    # (('worker', 1), False)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

__all__ = ["parse_tf_config", "task_of", "is_chief", "cluster_size", "make_tf_config"]

#: What every helper here accepts: a ``TF_CONFIG`` JSON string, its dict, or ``None`` (read the environment).
TFConfig = str | Mapping | None


def parse_tf_config(tf_config: TFConfig = None) -> dict:
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
                f"({ {k: len(v) for k, v in cluster.items()} }): give the task a type and an index the cluster lists"
            )
    return config


def task_of(tf_config: TFConfig = None) -> tuple[str | None, int | None]:
    """``(task type, task index)`` from ``TF_CONFIG``; ``(None, None)`` without one.

    >>> task_of({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}})
    ('worker', 1)
    """
    task = parse_tf_config(tf_config).get("task") or {}
    if not task:
        return None, None
    return task.get("type"), int(task.get("index", 0))


def is_chief(tf_config: TFConfig = None) -> bool:
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


def cluster_size(tf_config: TFConfig = None) -> int:
    """How many processes train (the chief and the workers; evaluators do not count).

    >>> cluster_size({"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"], "evaluator": ["e:1"]}})
    3
    """
    cluster = parse_tf_config(tf_config).get("cluster", {})
    return sum(len(addresses) for kind, addresses in cluster.items() if kind in ("chief", "worker"))


def make_tf_config(addresses: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in a cluster of ``addresses``.

    >>> make_tf_config(["127.0.0.1:5000", "127.0.0.1:5001"], 1)
    '{"cluster": {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]}, "task": {"type": "worker", "index": 1}}'
    """
    if not 0 <= index < len(addresses):
        raise ValueError(f"index {index} is not in 0..{len(addresses) - 1}: pick one worker of the {len(addresses)}")
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})
