"""Run a multi-worker job on this machine: one worker process per ``TF_CONFIG``, one of them maybe killed.

:func:`run_job` finds free ports on 127.0.0.1, gives each worker the same command and its own
``TF_CONFIG``, runs them with :func:`keraslab.processes.run_children` (bounded in time; whatever
still runs when it returns is killed), prints their lines as ``[worker i] ...`` and can SIGKILL one
of them once every worker has saved a given epoch. Lesson 07 runs ``notebooks/scripts/mnist_worker.py``
with it; the workers report what they did in files of their own.

Example::

    from keraslab import jobs

    job = jobs.run_job([sys.executable, "notebooks/scripts/mnist_worker.py", "--run", "demo", "--fresh"], 2)
    job.ok

The same from a shell (``make distributed-demo``)::

    python -m keraslab.jobs --workers 2 -- --epochs 6 --run two-workers --fresh
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from keraslab import paths
from keraslab.i18n import language, translator
from keraslab.processes import Children, run_children
from keraslab.results import RESULT_FILE_ENV

_ = translator("jobs")

__all__ = ["HOLD_AFTER_EPOCH", "free_ports", "worker_envs", "run_job", "main"]

#: A worker whose environment sets this to ``k`` waits after epoch ``k`` until it is killed, so no
#: other worker can finish the next epoch: the kill happens at the same point on any machine.
HOLD_AFTER_EPOCH = "KERASLAB_HOLD_AFTER_EPOCH"


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports that were free on ``host`` a moment ago (bind to port 0, then release)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_envs(addresses: Sequence[str], env: Mapping[str, str] | None = None, victim: int | None = None,
                hold_after: int | None = None) -> list[dict[str, str]]:
    """One environment per worker: this process's, ``env``, and the worker's own ``TF_CONFIG``.

    Workers of one machine would each claim all of every GPU's memory, so ``CUDA_VISIBLE_DEVICES``
    is ``""`` unless ``env`` sets it. Worker ``victim`` also gets :data:`HOLD_AFTER_EPOCH`. The workers
    write checkpoints and logs where this process's lesson reads them (``checkpoints/ko`` ... for the
    Korean edition), and the Korean edition's workers keep their temporary folders in a ``TMPDIR`` of
    their own, so the two editions' jobs never share a folder.
    """
    envs = []
    for index in range(len(addresses)):
        worker_env = {k: v for k, v in os.environ.items() if k != RESULT_FILE_ENV}  # never the parent's file
        worker_env["CUDA_VISIBLE_DEVICES"] = ""
        worker_env["KERASLAB_CHECKPOINTS_DIR"] = str(paths.checkpoints_dir())
        worker_env["KERASLAB_LOGS_DIR"] = str(paths.logs_dir())
        if language() != "en":
            worker_env["TMPDIR"] = str(_edition_tmp())
        worker_env.update(env or {})
        if index == victim and hold_after is not None:
            worker_env[HOLD_AFTER_EPOCH] = str(hold_after)
        cluster = {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}
        worker_env["TF_CONFIG"] = json.dumps(cluster)
        envs.append(worker_env)
    return envs


def _edition_tmp() -> Path:
    folder = Path(tempfile.gettempdir()) / f"keraslab-{language()}"
    folder.mkdir(exist_ok=True)
    return folder


def run_job(command: Sequence[str], num_workers: int = 2, *, timeout: float = 300, kill_worker: int | None = None,
            kill_after_epoch: int | None = None, env: Mapping[str, str] | None = None, echo: bool = True,
            host: str = "127.0.0.1") -> Children:
    """Run ``command`` once per worker, each with its own ``TF_CONFIG`` (worker 0 is the chief).

    Args:
        command: the worker's command line, the same for every worker.
        num_workers: how many workers.
        timeout: seconds for the whole job; then every worker is killed and ``timed_out`` is set.
        kill_worker, kill_after_epoch: SIGKILL worker ``kill_worker`` once every worker printed
            ``epoch <kill_after_epoch>/`` (after saving it). The victim holds after that epoch
            (:data:`HOLD_AFTER_EPOCH`), so every worker has saved exactly ``kill_after_epoch`` epochs.
        env: extra environment variables for the workers.
        echo: print every worker's lines as ``[worker i] ...``, and the kill.
        host: where the workers listen.

    Returns:
        :class:`keraslab.processes.Children`: ``ok``, ``killed``, ``timed_out`` and, per worker
        (``children[i]``), its ``returncode``, ``lines`` and ``stderr_tail``.

    Example::

        killed = run_job([sys.executable, "mnist_worker.py", "--fresh"], 2, kill_worker=1, kill_after_epoch=3)
        killed.killed, killed.children[1].returncode   # (1, -9)
    """
    if kill_worker is not None and not (0 <= kill_worker < num_workers and kill_after_epoch is not None):
        raise ValueError(_("kill_worker={kill_worker} needs kill_after_epoch and a worker in 0..{last}: "
                           "say which worker to kill and after which epoch").format(kill_worker=kill_worker,
                                                                                     last=num_workers - 1))
    addresses = [f"{host}:{port}" for port in free_ports(num_workers, host)]
    saved = f"epoch {kill_after_epoch}/"
    ran = run_children(
        [list(command)] * num_workers,
        envs=worker_envs(addresses, env, kill_worker, kill_after_epoch),
        timeout=timeout,
        kill=None if kill_worker is None else (kill_worker, lambda lines: all(
            any(line.startswith(saved) for line in seen) for seen in lines)),
        kill_delay=0.1,
        echo=(lambda index, line: print(_("[worker {index}] {line}").format(index=index, line=line), flush=True))
        if echo else None,
    )
    if echo and ran.killed is not None:
        print(_("[job] killed worker {killed} (SIGKILL)").format(killed=ran.killed), flush=True)
    return ran


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.jobs --workers N [--timeout S] -- <mnist_worker.py args>``: N workers on 127.0.0.1."""
    import argparse

    from keraslab.paths import repo_root

    parser = argparse.ArgumentParser(prog="python -m keraslab.jobs", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole job")
    parser.add_argument("worker_args", nargs=argparse.REMAINDER, help="arguments for each worker, after --")
    args = parser.parse_args(argv)
    worker = repo_root() / "notebooks" / "scripts" / "mnist_worker.py"
    command = [sys.executable, str(worker), *(a for a in args.worker_args if a != "--")]
    job = run_job(command, args.workers, timeout=args.timeout)
    for child in job.children:
        if not child.ok:
            print(f"[worker {child.index}] exit code {child.returncode}", file=sys.stderr)
    return 0 if job.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
