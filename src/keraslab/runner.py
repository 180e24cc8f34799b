"""Run the course notebooks headless, in order, each in a fresh kernel.

``make run`` calls ``python -m keraslab.runner``: it executes every lesson of
both editions, ``notebooks/*.ipynb`` and the Korean ``notebooks/ko/*.ipynb``, in name
order (``--edition en`` or ``ko`` for one), writes the executed copies to
``build/notebooks/`` (``build/notebooks/ko/``; the tracked notebooks stay untouched), shows a progress
bar, stops at the first failing notebook with its cell and error, and prints a
results table: notebook, wall time, status, headline metric.

``make outputs`` calls ``python -m keraslab.runner --in-place``: the same run,
but the executed notebooks replace the tracked ones. That is the only way
stored outputs are made (never by hand-running cells), so ``pytest --nbval``
compares against outputs of a fresh kernel.

The headline metric of the table is read from the notebook's own outputs: the last
printed line of the form ``<label with accuracy or loss>: <number>`` (e.g. ``test accuracy:
0.9333``), so no cell exists for the runner. The backend comes from ``setup()``, which writes
it to the JSON result file the runner names in the kernel's ``KERASLAB_RESULT_FILE``.

Each lesson names its default Keras backend in its setup call
(``setup(backend="jax")``). ``--backend tensorflow`` runs the given notebooks
on another backend instead (``KERAS_BACKEND`` is set for their kernels, the
way a learner switches); ``--other-backend`` runs every backend-agnostic
lesson (default JAX) on TensorFlow. Lessons whose subject is TensorFlow
(default ``tensorflow``) have no other backend.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from keraslab import paths
from keraslab.results import RESULT_FILE_ENV, read_result

__all__ = [
    "STABLE_ENV",
    "OTHER_BACKEND",
    "apply_stable_env",
    "default_backend",
    "headline_of",
    "lessons",
    "run_notebooks",
    "main",
]

#: Environment for kernels, so stored outputs are the same on every run:
#: no C++ log lines with timestamps, no oneDNN-dependent rounding, stable hashes.
#: ``pytest`` sets the same (see ``conftest.py``). Not set on purpose:
#: ``IPYKERNEL_CELL_NAME``, which would give every cell the same file name and so
#: break AutoGraph's source lookup for ``tf.function``s defined in an earlier cell;
#: the sanitize file maps the per-cell file names to ``<IPY-INPUT>`` instead.
STABLE_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

#: The course's editions: English (``notebooks/``) and Korean (``notebooks/ko/``).
EDITIONS = ("en", "ko")

#: A headline line: ``test accuracy: 0.9333`` or ``검증 손실: 0.31``, the last one printed wins.
_HEADLINE = re.compile(
    r"^(?P<label>[^\W\d][^:=\n]{0,60}?(?:accuracy|loss|정확도|손실)[^:=\n]{0,30}?)\s*[:=]\s*(?P<value>-?\d+\.\d+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)

_SETUP_CALL = re.compile(r"""^setup\(backend=["'](?P<backend>\w+)["']""", re.MULTILINE)

#: The backend a backend-agnostic lesson (default JAX) is also run on. A lesson whose
#: default is TensorFlow is about TensorFlow (GradientTape, tf.distribute): it has none.
OTHER_BACKEND = {"jax": "tensorflow"}


@dataclass
class Result:
    notebook: str
    seconds: float
    status: str
    headline: str = ""
    peak_rss_mb: float | None = None
    backend: str = ""


class _PeakRSS:
    """Poll the memory (RSS) of this process's children, the kernel among them; keep the peak."""

    def __init__(self, interval: float = 0.5):
        import threading

        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def apply_stable_env() -> None:
    """Set :data:`STABLE_ENV` (where not already set), point IPython at the
    repo's headless profile (``tests/ipython``), which keeps TensorFlow's C++ log
    lines out of cell outputs, and put this interpreter's ``bin/`` first on PATH."""
    for key, value in STABLE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("IPYTHONDIR", str(paths.repo_root() / "tests" / "ipython"))
    # The kernel runs this interpreter; put its bin/ first on PATH so that what the
    # notebooks call by name (`%tensorboard` finds `tensorboard`) is the venv's.
    bin_dir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def default_backend(path: Path) -> str:
    """The backend a lesson's setup cell asks for: ``setup(backend="jax")`` gives ``"jax"``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and (m := _SETUP_CALL.search(cell.source)):
            return m.group("backend")
    raise ValueError(f"{path.name} has no setup(backend=...) call in a code cell; every lesson's Setup cell needs one")


def headline_of(nb) -> str:
    """The last ``label: number`` line about an accuracy or a loss that the notebook printed, or ``""``.

    >>> import nbformat
    >>> out = nbformat.v4.new_output("stream", text="epochs: 3\\ntest accuracy: 0.93333\\n")
    >>> cell = nbformat.v4.new_code_cell(outputs=[out])
    >>> headline_of(nbformat.v4.new_notebook(cells=[cell]))
    'test accuracy = 0.93333'
    """
    found = ""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for match in _HEADLINE.finditer(output.get("text", "")):
                    found = f"{match['label'].strip()} = {match['value']}"
    return found


def _execute(
    path: Path, out_path: Path, index: int, total: int, timeout: int, backend: str | None = None, position: int = 0
) -> Result:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from tqdm.auto import tqdm

    nb = nbformat.read(path, as_version=4)
    n_code = sum(1 for c in nb.cells if c.cell_type == "code")
    label = f"{path.stem} ({backend})" if backend else path.stem
    bar = tqdm(
        total=n_code, desc=f"[{index}/{total}] {label}", unit="cell", leave=True, file=sys.stdout, position=position
    )

    def on_cell_executed(cell, **_):
        if cell.cell_type == "code":
            bar.update(1)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        on_cell_executed=on_cell_executed,
    )
    # The kernel's own stdout/stderr (TensorFlow's C++ lines, ipykernel's warnings) go to a log
    # file beside the executed copy, not through the progress bar; its tail is shown on failure.
    log_name = f"{path.stem}{'.' + backend if backend else ''}.log"
    log_path = paths.build_dir() / "notebooks" / _edition_dir(path) / log_name
    result_file = log_path.with_suffix(".result.json")
    result_file.unlink(missing_ok=True)
    kernel_env = {**os.environ, **({"KERAS_BACKEND": backend} if backend else {}), RESULT_FILE_ENV: str(result_file)}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    status, error = "ok", None
    with _PeakRSS() as memory, open(log_path, "wb") as kernel_log:
        try:
            client.execute(stdout=kernel_log, stderr=kernel_log, env=kernel_env)
        except CellExecutionError as exc:
            status, error = "FAILED", exc
        except Exception as exc:  # kernel died, timeout, ...
            status, error = "FAILED", exc
    seconds = time.perf_counter() - start
    bar.close()
    if error is not None and out_path.resolve() == path.resolve():
        # never overwrite a tracked notebook with a failed run
        out_path = paths.build_dir() / "notebooks" / _edition_dir(path) / path.name
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_path)
    reported = read_result(result_file) or {}
    peak_mb = round(memory.peak / 2**20, 1)
    name = (_edition_dir(path) / path.name).as_posix()
    result = Result(name, seconds, status, headline_of(nb), peak_mb, reported.get("backend", ""))
    if error is not None:
        _report_failure(nb, path, error, log_path, out_path)
    return result


def _edition_dir(path: Path) -> Path:
    """``Path("ko")`` for a lesson of the Korean edition (``notebooks/ko/``), else ``Path()``."""
    return Path(path.parent.name) if path.parent.name in EDITIONS[1:] else Path()


def lessons(edition: str = "all") -> list[Path]:
    """The lessons of ``edition`` (``"en"``, ``"ko"`` or ``"all"``: English first), each in name order."""
    if edition not in (*EDITIONS, "all"):
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)} or all, got {edition!r}")
    folders = {"en": paths.repo_root() / "notebooks", "ko": paths.repo_root() / "notebooks" / "ko"}
    return [p for e in EDITIONS if edition in (e, "all") for p in sorted(folders[e].glob("[0-9]*.ipynb"))]


def _report_failure(nb, path: Path, error: Exception, log_path: Path, out_path: Path) -> None:
    """Print the failing cell, its error, the kernel log's tail and where the partial copy is."""
    failing = next(
        (
            (i, c)
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ),
        None,
    )
    print(f"\n{path.name} FAILED", file=sys.stderr)
    if failing is not None:
        i, cell = failing
        print(f"--- cell {i} ---\n{cell.source}\n--- error ---", file=sys.stderr)
    print(str(error)[-4000:], file=sys.stderr)
    print(_tail(log_path), file=sys.stderr)
    print(f"The partly executed notebook is in {paths.relative(out_path)}", file=sys.stderr)


def _tail(log_path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a kernel's log, under a heading naming the file."""
    text = log_path.read_text(errors="replace").splitlines() if log_path.is_file() else []
    if not text:
        return f"(the kernel wrote nothing to {paths.relative(log_path)})"
    return f"--- last {min(lines, len(text))} lines of {paths.relative(log_path)} ---\n" + "\n".join(text[-lines:])


def _table(results: list[Result]) -> str:
    rows = [("notebook", "backend", "wall time", "peak RSS", "status", "headline metric")]
    rows += [
        (
            r.notebook,
            r.backend,
            f"{r.seconds:7.1f} s",
            f"{r.peak_rss_mb:6.0f} MB" if r.peak_rss_mb else "",
            r.status,
            r.headline,
        )
        for r in results
    ]
    total = sum(r.seconds for r in results)
    rows.append(("total", "", f"{total:7.1f} s", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(row: tuple[str, ...]) -> str:
        return "|".join(f" {cell:<{w}} " for cell, w in zip(row, widths, strict=True))

    return "\n".join([fmt(rows[0]), line, *map(fmt, rows[1:-1]), line, fmt(rows[-1])])


def _write_results(results: list[Result], name: str = "run_results.json") -> None:
    """Keep the table as build/run_results.json (the benchmark reports it)."""
    import json
    from dataclasses import asdict

    out = paths.build_dir() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"results": [asdict(r) for r in results]}, indent=2))


def run_notebooks(
    notebooks: list[Path],
    *,
    in_place: bool = False,
    out_dir: Path | None = None,
    timeout: int = 1800,
    backend: str | Mapping[Path, str] | None = None,
    jobs: int = 1,
) -> list[Result]:
    """Execute ``notebooks`` in name order, ``jobs`` at a time; start no new one after a failure.

    Args:
        notebooks: the ``.ipynb`` files.
        in_place: overwrite each notebook with its executed copy (regenerates
            the stored outputs that nbval compares against).
        out_dir: where executed copies go otherwise (default ``build/notebooks``).
        timeout: seconds one cell may run.
        backend: run on this Keras backend (``KERAS_BACKEND`` for the kernel),
            or per notebook (a mapping); default: each lesson's own.
        jobs: how many notebooks run at once, each in its own process and kernel (a
            notebook uses about one core; ``make run`` uses 2).

    Returns:
        One :class:`Result` per notebook run, in the order given.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    apply_stable_env()
    out_dir = out_dir or paths.build_dir() / "notebooks"
    tasks = []
    for i, nb_path in enumerate(notebooks, 1):
        target = nb_path if in_place else out_dir / _edition_dir(nb_path) / nb_path.name
        chosen = backend.get(nb_path) if isinstance(backend, Mapping) else backend
        tasks.append((nb_path, target, i, len(notebooks), timeout, chosen))
    if jobs <= 1:
        results: list[Result] = []
        for task in tasks:
            results.append(_execute(*task))
            if results[-1].status != "ok":
                break
        return results
    done: dict[int, Result] = {}
    # one process per running notebook: its kernel is that process's child, so peak RSS stays per notebook
    # spawn, not fork: forking a process that has threads (JAX, TensorFlow under pytest) can deadlock the child
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending, queue = {}, list(enumerate(tasks))
        while queue or pending:
            while queue and len(pending) < jobs and all(r.status == "ok" for r in done.values()):
                k, task = queue.pop(0)
                pending[pool.submit(_execute, *task, position=k % jobs)] = k
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done[pending.pop(future)] = future.result()
    return [done[k] for k in sorted(done)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keraslab.runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson of --edition, in name order")
    parser.add_argument("--edition", choices=[*EDITIONS, "all"], default="all",
                        help="en: notebooks/, ko: notebooks/ko/ (한국어판), all: both (default)")
    parser.add_argument("--in-place", action="store_true", help="overwrite the notebooks with the executed copies")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may run (default 1800)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once (make run: 2, one per core)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--backend", choices=["jax", "tensorflow"], help="run the notebooks on this Keras backend")
    which.add_argument(
        "--other-backend", action="store_true", help="run each backend-agnostic lesson on its other backend"
    )
    args = parser.parse_args(argv)
    if args.in_place and (args.backend or args.other_backend):
        parser.error("stored outputs come from each lesson's own backend: --in-place takes no --backend")
    notebooks = args.notebooks or lessons(args.edition)
    if not notebooks:
        print(f"No notebooks to run (edition {args.edition}).")
        return 0
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        print(f"No such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    backend, out_dir, results_name = args.backend, paths.build_dir() / "notebooks", "run_results.json"
    if args.backend:
        out_dir, results_name = out_dir / args.backend, f"run_results-{args.backend}.json"
    if args.other_backend:
        backend = {p: OTHER_BACKEND[b] for p in notebooks if (b := default_backend(p)) in OTHER_BACKEND}
        notebooks = list(backend)
        out_dir, results_name = out_dir / "other-backend", "run_results-other-backend.json"
    start = time.perf_counter()
    results = run_notebooks(
        notebooks, in_place=args.in_place, out_dir=out_dir, timeout=args.timeout, backend=backend, jobs=args.jobs
    )
    print()
    print(_table(results))
    _write_results(results, results_name)
    where = "notebooks/ (in place)" if args.in_place else paths.relative(out_dir)
    print(
        f"\n{len(results)}/{len(notebooks)} notebooks run in {time.perf_counter() - start:.0f} s; "
        f"executed copies in {where}"
    )
    skipped = len(notebooks) - len(results)
    if skipped:
        print(f"{skipped} notebook(s) not run after the failure.", file=sys.stderr)
    return 0 if all(r.status == "ok" for r in results) and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
