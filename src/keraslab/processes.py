"""Run child processes, collect their lines and JSON results, and SIGKILL one when a condition is met.

One helper for every place that starts a training program and may kill it for real: lesson 06's
interrupted run, lesson 07's multi-worker jobs and the tests. Each child gets its own
``KERASLAB_RESULT_FILE`` (:mod:`keraslab.results`); what it reports is read from there, not from
its printed lines, which are kept only to be shown.

Example::

    from keraslab.processes import run_children, run_child

    # one child, killed 0.1 s after it prints a line starting with "epoch 4 done"
    child = run_child([sys.executable, "train.py"], kill_at="epoch 4 done", kill_delay=0.1)
    child.killed, child.returncode   # (True, -9)

    # two children; kill child 1 once both printed "epoch 3/"
    both = run_children([argv, argv], kill=(1, lambda lines: all(
        any(line.startswith("epoch 3/") for line in got) for got in lines)))
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keraslab.results import RESULT_FILE_ENV, read_result

__all__ = ["ChildResult", "Children", "run_child", "run_children"]

#: ``kill=(index, condition)``: SIGKILL child ``index`` once ``condition(lines of every child)`` holds.
KillRule = tuple[int, Callable[[list[list[str]]], bool]]


@dataclass
class ChildResult:
    """One finished child: exit status, the lines it printed, its stderr's tail and its JSON result."""

    index: int
    returncode: int | None
    lines: list[str]
    stderr_tail: str
    result: dict[str, Any] | None
    killed: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Children:
    """Every child of one :func:`run_children` call, whether one was killed or time ran out, and wall time."""

    children: list[ChildResult]
    killed: int | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(child.ok for child in self.children)


def _reader(index: int, stream, out: queue.Queue) -> None:
    for line in stream:
        out.put((index, line.rstrip("\n")))
    out.put((index, None))


def _start(argv: Sequence[str], env: Mapping[str, str] | None, result_file: Path, stderr) -> subprocess.Popen:
    child_env = dict(os.environ if env is None else env)
    if env is None or RESULT_FILE_ENV not in env:  # never the file this process itself reports to
        child_env[RESULT_FILE_ENV] = str(result_file)
    child_env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        list(argv), env=child_env, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True
    )


def run_children(
    argvs: Sequence[Sequence[str]],
    *,
    envs: Sequence[Mapping[str, str] | None] | None = None,
    timeout: float = 300,
    kill: KillRule | None = None,
    kill_delay: float = 0.0,
    echo: Callable[[int, str], None] | None = None,
) -> Children:
    """Start every child at once, collect their lines until all have exited, kill one if asked.

    Args:
        argvs: one command line per child.
        envs: one environment per child (``None``: this process's). Each child also gets
            its own ``KERASLAB_RESULT_FILE`` (unless the environment given here names one; the
            one this process inherited is never passed on) and unbuffered output.
        timeout: seconds for all of them; then every child still running is killed and
            ``timed_out`` is set.
        kill: ``(index, condition)``: SIGKILL child ``index`` ``kill_delay`` seconds after
            ``condition`` first holds for the lines printed so far (one list per child).
        echo: called with ``(index, line)`` for every line, e.g. to print it.

    Returns:
        A :class:`Children`; every child has exited (or was killed) when it returns.
    """
    envs = list(envs) if envs is not None else [None] * len(argvs)
    lines: list[list[str]] = [[] for _ in argvs]
    out: queue.Queue = queue.Queue()
    procs: list[subprocess.Popen] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="keraslab-children-") as tmp:
        results = [Path(tmp) / f"child{i}.json" for i in range(len(argvs))]
        errs = [tempfile.TemporaryFile(mode="w+", dir=tmp) for _ in argvs]
        try:
            for i, argv in enumerate(argvs):
                procs.append(_start(argv, envs[i], results[i], errs[i]))
                threading.Thread(target=_reader, args=(i, procs[i].stdout, out), daemon=True).start()
            killed, timed_out = _watch(procs, out, lines, start + timeout, kill, kill_delay, echo)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        done = []
        for i, proc in enumerate(procs):
            errs[i].seek(0)
            tail = errs[i].read()[-20000:]
            errs[i].close()
            done.append(ChildResult(i, proc.returncode, lines[i], tail, read_result(results[i]), killed == i))
    return Children(done, killed, timed_out, time.monotonic() - start)


def _watch(procs, out: queue.Queue, lines, deadline: float, kill: KillRule | None, kill_delay: float, echo):
    """Collect lines until every child closed its output (or the deadline); kill by the rule.
    Returns ``(index killed or None, timed out)``."""
    open_streams, kill_at, killed = len(procs), None, None
    while open_streams:
        now = time.monotonic()
        if now >= deadline:
            return killed, True
        if kill_at is not None and killed is None and now >= kill_at:
            procs[kill[0]].send_signal(signal.SIGKILL)
            killed = kill[0]
        wait = deadline - now if kill_at is None or killed is not None else max(0.0, kill_at - now)
        try:
            index, line = out.get(timeout=min(wait, 1.0))
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        lines[index].append(line)
        if echo is not None:
            echo(index, line)
        if kill is not None and kill_at is None and kill[1](lines):
            kill_at = time.monotonic() + kill_delay
    timed_out = False
    for proc in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    return killed, timed_out


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    kill_at: str | None = None,
    kill_delay: float = 0.0,
    echo: Callable[[str], None] | None = None,
) -> ChildResult:
    """Run one child to its end, or SIGKILL it ``kill_delay`` seconds after it prints a line starting
    with ``kill_at``. See :func:`run_children`; a time-out raises :class:`TimeoutError`."""
    rule = None if kill_at is None else (0, lambda lines: any(line.startswith(kill_at) for line in lines[0]))
    ran = run_children(
        [argv],
        envs=[env],
        timeout=timeout,
        kill=rule,
        kill_delay=kill_delay,
        echo=None if echo is None else (lambda _, line: echo(line)),
    )
    if ran.timed_out:
        raise TimeoutError(f"{' '.join(map(str, argv))} did not finish within {timeout} s")
    return ran.children[0]
