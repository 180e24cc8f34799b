"""Run a multi-worker job on this machine: one ``python -m keraslab.worker`` process per worker, one maybe killed.

:func:`run_job` finds free ports on 127.0.0.1, gives each worker its own ``TF_CONFIG``
(:func:`keraslab.cluster.make_tf_config`), runs them with :func:`keraslab.processes.run_children`
(always bounded in time; whatever still runs when it returns is killed) and can SIGKILL one of
them once every worker has saved a given epoch. Each worker's numbers come back as its JSON
result (``job.workers[i].result``, see :mod:`keraslab.worker`); its printed lines are shown as
``[worker i] ...``.

Example::

    from keraslab import jobs

    job = jobs.run_job(2, ["--epochs", "6", "--run", "two-workers", "--fresh"])
    job.ok, job.chief.result["test_accuracy"]

The same from a shell (``make distributed-demo``)::

    python -m keraslab.jobs --workers 2 -- --epochs 6 --run two-workers --fresh
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence

from keraslab.cluster import make_tf_config
from keraslab.processes import Children, ChildResult, run_children
from keraslab.results import RESULT_FILE_ENV
from keraslab.worker import HOLD_AFTER_EPOCH

__all__ = ["JobResult", "free_ports", "run_job", "why_stopped", "main"]


class JobResult(Children):
    """The workers of one job (:class:`keraslab.processes.Children`), the chief first."""

    @property
    def workers(self) -> list[ChildResult]:
        return self.children

    @property
    def chief(self) -> ChildResult:
        return self.children[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports that were free on ``host`` a moment ago (bind to port 0, then release).

    >>> len(set(free_ports(3)))
    3
    """
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


def _worker_envs(addresses: Sequence[str], env: Mapping[str, str] | None, victim: int | None, epoch: int | None):
    envs = []
    for index in range(len(addresses)):
        # Each worker gets its own result file from run_children, never this process's own
        worker_env = {k: v for k, v in os.environ.items() if k != RESULT_FILE_ENV}
        # Workers of one machine would each claim all of every GPU's memory: they train on the CPU
        # unless ``env`` says otherwise (the job is a fault-tolerance demo, not a speed-up).
        worker_env["CUDA_VISIBLE_DEVICES"] = ""
        worker_env.update(env or {})
        if index == victim and epoch is not None:
            worker_env[HOLD_AFTER_EPOCH] = str(epoch)
        worker_env["TF_CONFIG"] = make_tf_config(addresses, index)
        envs.append(worker_env)
    return envs


def _everyone_saved(epoch: int):
    """The kill condition: every worker printed ``epoch <epoch>/``, which it does after saving that epoch."""
    return lambda lines: all(any(line.startswith(f"epoch {epoch}/") for line in seen) for seen in lines)


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
    """Run a job of ``num_workers`` workers on ``host``, each a ``python -m keraslab.worker`` process.

    Args:
        num_workers: how many workers (worker 0 is the chief).
        worker_args: arguments for every worker (see ``python -m keraslab.worker -h``).
        timeout: seconds for the whole job; then every worker is killed and ``timed_out`` is set.
        kill_worker, kill_after_epoch, kill_delay: SIGKILL worker ``kill_worker`` ``kill_delay``
            seconds after every worker reported (and so saved) epoch ``kill_after_epoch``. The
            victim holds after that epoch (it gets ``KERASLAB_HOLD_AFTER_EPOCH``), so no worker can
            finish the next epoch without it, however fast or slow the machine: every worker has
            saved exactly ``kill_after_epoch`` epochs. The other workers then abort on their own;
            the job must be restarted.
        env: extra environment variables for the workers. ``CUDA_VISIBLE_DEVICES`` is ``""``
            unless set here: the workers share one machine, so they use its CPU.
        echo: print every worker's lines as ``[worker i] ...``, and the kill.
        host: where the workers listen.

    Returns:
        A :class:`JobResult`: ``job.ok``, ``job.killed``, and per worker its return code, lines and
        JSON ``result``.

    Example::

        killed = run_job(2, ["--epochs", "6", "--run", "ft", "--fresh"], kill_worker=1, kill_after_epoch=3)
        killed.chief.result["epochs"]   # [1, 2, 3]
    """
    if kill_worker is not None and not (0 <= kill_worker < num_workers and kill_after_epoch is not None):
        raise ValueError(
            f"kill_worker={kill_worker} needs kill_after_epoch and a worker in 0..{num_workers - 1}: "
            "say which worker to kill and after which epoch"
        )
    addresses = [f"{host}:{port}" for port in free_ports(num_workers, host)]
    ran = run_children(
        [[sys.executable, "-m", "keraslab.worker", *worker_args] for _ in addresses],
        envs=_worker_envs(addresses, env, kill_worker, kill_after_epoch),
        timeout=timeout,
        kill=None if kill_worker is None else (kill_worker, _everyone_saved(kill_after_epoch)),
        kill_delay=kill_delay,
        echo=(lambda index, line: print(f"[worker {index}] {line}", flush=True)) if echo else None,
    )
    if echo and ran.killed is not None:
        print(f"[job] killed worker {ran.killed} (SIGKILL)", flush=True)
    return JobResult(ran.children, ran.killed, ran.timed_out, ran.seconds)


def why_stopped(worker: ChildResult) -> str | None:
    """The first line of the error a worker reported (or, without a result, its stderr's last line)."""
    if worker.result and worker.result.get("error"):
        return worker.result["error"].splitlines()[0]
    tail = worker.stderr_tail.strip().splitlines()
    return tail[-1] if tail else None


def main(argv: list[str] | None = None) -> int:
    """``python -m keraslab.jobs --workers N [--timeout S] -- <worker args>``: N workers on 127.0.0.1."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m keraslab.jobs", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole job")
    parser.add_argument("worker_args", nargs=argparse.REMAINDER, help="arguments for each worker, after --")
    args = parser.parse_args(argv)
    job = run_job(args.workers, [a for a in args.worker_args if a != "--"], timeout=args.timeout)
    for worker in job.workers:
        if not worker.ok:
            print(f"[worker {worker.index}] exit code {worker.returncode}: {why_stopped(worker)}", file=sys.stderr)
    if job.timed_out:
        print(f"[job] stopped after --timeout {args.timeout:g} s: raise it for a longer job", file=sys.stderr)
    return 0 if job.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
