"""Checks of the TensorBoard logs a lesson wrote, read back with TensorBoard's own reader.

Called right after a lesson ran into a private logs folder (the Colab-stack run of every lesson,
tests/test_colab_stack.py, and the other-backend run, tests/test_other_backend.py): these
runs write their own logs, so the check never depends on what another test left in ``logs/``.

Which runs to expect comes from the notebooks' own code: every
``new_run("<notebook>", "<run>")`` call whose arguments are string literals or names
bound to string literals (``SHORT = "03_fashion"``). For each run:

* ``logs/<notebook>/<run>`` exists (``new_run`` makes it);
* if it holds any ``epoch_*`` scalar (Keras's TensorBoard callback logged at least one
  epoch): ``train/`` has ``epoch_loss``; every ``epoch_*`` tag has steps 0..n-1;
  ``validation/``, when written, has ``epoch_loss`` with the same steps as ``train/``;
  ``epoch_learning_rate``, when logged, has as many steps as ``epoch_loss``;
* a run made in a cell that passes a TensorBoard callback to a call, in a cell that is no
  pitfall cell (a ``with pitfall(...)`` block: its ``fit`` is meant to fail), must have
  ``epoch_loss``; and every notebook that calls ``TensorBoard(...)`` has at least one run with it;
* a notebook that writes an HParams experiment: every training run has a session record whose
  values lie in the experiment's domains, and the experiment's metrics exist.

This file's own test checks the parser on a made-up notebook.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from keraslab import logreaders, paths

TB_CALLS = {"tensorboard", "TensorBoard", "resumable_callbacks"}
SUMMARY_WRITER_CALLS = {"create_file_writer"}  # tf.summary.create_file_writer: a loop that logs itself
HPARAMS_CALLS = {"experiment", "hparams_config"}  # keraslab.hparams.experiment / hp.hparams_config
SKIP_TAGS = {"raises-exception", "nbval-skip", "skip-execution"}
SUBRUNS = ("train", "validation")


@dataclass
class ExpectedRun:
    notebook: str  # the name given to new_run, e.g. "03_fashion"
    run: str
    source: str  # "03_fashion_mnist_dropout_early_stopping.ipynb cell 13"
    needs_tensorboard: bool = False  # made in a cell that passes a TensorBoard callback to a call


@dataclass
class NotebookRuns:
    path: Path
    runs: list[ExpectedRun] = field(default_factory=list)
    calls_tensorboard: bool = False
    hparams_experiment: bool = False  # the notebook writes an HParams experiment record
    unresolved: list[str] = field(default_factory=list)  # new_run calls with non-literal arguments


def _python(source: str) -> str:
    """A cell's source with IPython magics and shell escapes blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _is_tensorboard_call(node: ast.Call) -> bool:
    name = _call_name(node)
    if name not in TB_CALLS:
        return False
    if name == "resumable_callbacks":  # adds a TensorBoard callback unless tensorboard=False
        return not any(
            k.arg == "tensorboard" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in node.keywords
        )
    return True


def _contains_tensorboard(node: ast.AST, names: set[str] = frozenset()) -> bool:
    """Whether ``node`` calls a TensorBoard callback factory or refers to one of ``names``."""
    return any(
        (isinstance(n, ast.Call) and _is_tensorboard_call(n)) or (isinstance(n, ast.Name) and n.id in names)
        for n in ast.walk(node)
    )


def discover(notebook: Path) -> NotebookRuns:
    """The runs a notebook's code makes with ``new_run(...)``."""
    nb = json.loads(notebook.read_text())
    cells = [
        (i, cell, _python("".join(cell["source"]))) for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
    ]
    trees = {}
    for i, _, code in cells:
        try:
            trees[i] = ast.parse(code)
        except SyntaxError:
            trees[i] = None
    # names bound to a string literal anywhere at top level (SHORT = "03_fashion")
    constants: dict[str, str] = {}
    for tree in trees.values():
        for stmt in tree.body if tree else ():
            target = value = None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                target, value = stmt.target, stmt.value
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                constants[target.id] = value.value

    def literal(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    found = NotebookRuns(notebook)
    for i, cell, code in cells:
        tree = trees[i]
        skipped = bool(SKIP_TAGS & set(cell.get("metadata", {}).get("tags", []))) or _is_pitfall_cell(tree)
        if tree is None:  # not plain Python: fall back to a regex for literal calls
            calls = [(m[0], m[1], True) for m in re.findall(r"new_run\(\s*\"([^\"]+)\"\s*,\s*\"([^\"]+)\"", code)]
            cell_tb = bool(re.search(r"\b(tensorboard|TensorBoard)\(", code))
            passes_tb = False
        else:
            calls = []
            cell_tb = passes_tb = False
            # names this cell binds to a TensorBoard callback, or to a list holding one
            tb_names = {
                t.id
                for stmt in ast.walk(tree)
                if isinstance(stmt, ast.Assign) and _contains_tensorboard(stmt.value)
                for t in stmt.targets
                if isinstance(t, ast.Name)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                if _is_tensorboard_call(node):
                    cell_tb = True
                if _call_name(node) in SUMMARY_WRITER_CALLS:  # the cell's own tf.summary writers
                    cell_tb = passes_tb = True
                if _call_name(node) in HPARAMS_CALLS and not skipped:
                    found.hparams_experiment = True
                for k in node.keywords:  # fit(callbacks=[..., tensorboard]), fit_custom(callbacks_list=...)
                    if k.arg and "callbacks" in k.arg and _contains_tensorboard(k.value, tb_names):
                        passes_tb = True
                if _call_name(node) == "new_run":
                    kw = {k.arg: k.value for k in node.keywords}
                    nb_name = literal(node.args[0] if node.args else kw.get("notebook"))
                    run = literal(node.args[1] if len(node.args) > 1 else kw.get("name"))
                    calls.append((nb_name, run, nb_name is not None and run is not None))
        if cell_tb and not skipped:
            found.calls_tensorboard = True
        for nb_name, run, ok in calls:
            where = f"{notebook.name} cell {i}"
            if not ok:
                found.unresolved.append(where)
                continue
            found.runs.append(ExpectedRun(nb_name, run, where, needs_tensorboard=passes_tb and not skipped))
    return found


def _is_pitfall_cell(tree: ast.AST | None) -> bool:
    """A cell with a ``with pitfall(...):`` block shows an error on purpose: its training may never start."""
    if tree is None:
        return False
    return any(
        isinstance(node, ast.With)
        and any(
            isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) == "pitfall"
            for item in node.items
        )
        for node in ast.walk(tree)
    )


@dataclass
class SubRun:
    steps: dict[str, list[int]]  # scalar tag -> steps, as TensorBoard shows them


def read_subrun(folder: Path) -> SubRun | None:
    """Scalar tags and their steps in one ``train/`` or ``validation/`` folder, or None."""
    if not folder.is_dir() or not any(folder.glob("events.out.tfevents.*")):
        return None
    scalars = logreaders.read_tensorboard_scalars(folder)  # TensorBoard's EventAccumulator
    return SubRun({tag: [step for step, _ in points] for tag, points in scalars.items()})


def _span(steps: list[int]) -> str:
    return f"{len(steps)} ({min(steps)}-{max(steps)})" if steps else "0"


def check_run(expected: ExpectedRun, logs: Path) -> tuple[list[str], list[str], bool]:
    """(problems, table rows, has epoch_loss) for one run."""
    label = f"{expected.notebook}/{expected.run}"
    folder = logs / expected.notebook / expected.run
    if not folder.is_dir():
        return (
            [f"{label}: {paths.relative(folder)} missing (made in {expected.source}; did the notebook run?)"],
            [f"| {label} | (missing) | |"],
            False,
        )
    sub = {name: read_subrun(folder / name) for name in SUBRUNS}
    epoch_tags = {
        name: {t: s for t, s in r.steps.items() if t.startswith("epoch_")} for name, r in sub.items() if r is not None
    }
    rows = []
    for name in SUBRUNS:
        if sub[name] is None:
            continue
        tags = sub[name].steps
        shown = ", ".join(f"{t} {_span(s)}" for t, s in sorted(tags.items())) or "(no scalars)"
        rows.append(f"| {label} | {name} | {shown} |")
    if not any(epoch_tags.values()):
        note = "no event files" if not any(sub.values()) else "no epoch scalars"
        rows.append(f"| {label} | ({note}) | |")
        if expected.needs_tensorboard:
            return [f"{label}: {expected.source} calls a TensorBoard callback but the run has {note}"], rows, False
        return [], rows, False

    problems = []
    train = epoch_tags.get("train", {})
    if "epoch_loss" not in train:
        problems.append(f"{label}: train/ has no epoch_loss (tags: {sorted(train)})")
    for name, tags in epoch_tags.items():
        for tag, steps in tags.items():
            if steps != list(range(len(steps))):
                problems.append(f"{label}: {name}/{tag} steps are not 0..n-1: {steps}")
    loss = train.get("epoch_loss")
    val = epoch_tags.get("validation")
    if val is not None and loss is not None:
        if "epoch_loss" not in val:
            problems.append(f"{label}: validation/ has no epoch_loss (tags: {sorted(val)})")
        elif len(val["epoch_loss"]) != len(loss):
            problems.append(f"{label}: {len(loss)} train epochs but {len(val['epoch_loss'])} validation epochs")
    lr = train.get("epoch_learning_rate")
    if lr is not None and loss is not None and len(lr) != len(loss):
        problems.append(f"{label}: epoch_learning_rate has {len(lr)} steps, epoch_loss {len(loss)}")
    return problems, rows, loss is not None


def check_notebook_runs(nb: Path, logs: Path) -> tuple[list[str], list[str]]:
    """(problems, printed lines) for the runs one notebook wrote under ``logs``."""
    found = discover(nb)
    runs: dict[tuple[str, str], ExpectedRun] = {}
    for r in found.runs:  # one entry per run; needs_tensorboard if any of its cells passes TensorBoard
        key = (r.notebook, r.run)
        if key in runs:
            runs[key].needs_tensorboard |= r.needs_tensorboard
        else:
            runs[key] = r
    problems: list[str] = []
    table = ["| run | sub-run | scalar tags: steps |", "|---|---|---|"]
    with_loss = 0
    for r in runs.values():
        run_problems, rows, has_loss = check_run(r, logs)
        problems += run_problems
        table += rows
        with_loss += has_loss
    if found.calls_tensorboard and not with_loss:
        problems.append(f"{nb.name} calls a TensorBoard callback but none of its runs logged epoch_loss")
    strict = [r for r in runs.values() if r.needs_tensorboard]
    lines = [
        f"{nb.name}: {len(runs)} runs ({len(strict)} passing a TensorBoard callback in the same cell), "
        f"{with_loss} with epoch_loss"
        + (f"; new_run calls with computed names, not checked: {found.unresolved}" if found.unresolved else ""),
        *table,
    ]
    if found.hparams_experiment:
        for short in sorted({r.notebook for r in found.runs}):
            hp_problems, rows = check_hparams(short, [r for r in found.runs if r.notebook == short], logs)
            problems += hp_problems
            lines += rows
    return problems, lines


def check_notebook_logs(nb: Path, logs: Path) -> None:
    """Print the runs' table and fail on any problem: called right after a lesson ran into ``logs``
    (tests/test_colab_stack.py, tests/test_other_backend.py)."""
    problems, lines = check_notebook_runs(nb, logs)
    print("\n".join(lines))
    if nb.name.startswith("03_"):
        assert discover(nb).hparams_experiment, "lesson 03 should write an HParams experiment"
    assert not problems, f"TensorBoard logs of {nb.name}:\n" + "\n".join(problems)


def _in_domain(value, domain) -> bool:
    """Numbers come back from the event file as floats (20 -> 20.0)."""
    if isinstance(value, float):
        return any(isinstance(d, (int, float)) and not isinstance(d, bool) and abs(d - value) < 1e-9 for d in domain)
    return value in domain


def check_hparams(short: str, runs: list[ExpectedRun], logs: Path) -> tuple[list[str], list[str]]:
    """(problems, table rows) for a notebook that writes an HParams experiment into logs/<short>."""
    root = logs / short
    try:
        domains, metric_names = logreaders.read_hparams_experiment(root)
    except (FileNotFoundError, LookupError) as error:
        return [f"{short}: the notebook writes an HParams experiment but {error}"], []
    problems, rows, sessions = [], [f"| {short} (experiment) | {domains} | metrics {metric_names} |"], 0
    for r in runs:
        folder = root / r.run
        if not folder.is_dir():
            continue  # reported by the scalar check
        label = f"{short}/{r.run}"
        try:
            session = logreaders.read_hparams_session(folder)
        except (FileNotFoundError, LookupError) as error:
            if (folder / "train").is_dir():  # a training run of this comparison without its record
                problems.append(f"{label}: {error}")
            continue
        sessions += 1
        rows.append(f"| {label} | hparams | {session} |")
        if set(session) != set(domains):
            problems.append(f"{label}: session hparams {sorted(session)} != experiment's {sorted(domains)}")
        for name, value in session.items():
            if name in domains and not _in_domain(value, domains[name]):
                problems.append(f"{label}: {name}={value!r} outside the experiment's domain {domains[name]}")
        for metric in metric_names:
            group, tag = metric.split("/")
            sub = read_subrun(folder / group)
            if sub is None:
                if group == "train":
                    problems.append(f"{label}: metric {metric}: no {group}/ folder")
                continue  # e.g. a run trained without validation data
            if tag not in sub.steps:
                problems.append(f"{label}: metric {metric}: {group}/ has no {tag} (tags: {sorted(sub.steps)})")
    if sessions < 2:
        problems.append(f"{short}: {sessions} HParams session(s); a comparison needs at least 2 runs")
    return problems, rows


def test_discovery_reads_literal_and_constant_run_names(tmp_path):
    """The parser behind the test above, on a made-up notebook."""

    def cell(source, tags=()):
        return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}, "outputs": []}

    nb = {
        "cells": [
            cell('%load_ext tensorboard\nSHORT = "07_demo"\nfrom keraslab import callbacks, paths'),
            cell('run = paths.new_run(SHORT, "a")\nmodel.fit(x, y, callbacks=[TensorBoard(run.log_dir)])'),
            cell('run = paths.new_run("07_demo", name="b")  # checkpoint only'),
            cell('run = paths.new_run(SHORT, "c")\nfit(callbacks=resume.resumable_callbacks(run, tensorboard=False))'),
            cell('run = paths.new_run(SHORT, "d")\ncallbacks.tensorboard(run).oops()', tags=["raises-exception"]),
            cell(
                'def go():\n    fit(callbacks=resume.resumable_callbacks(paths.new_run(SHORT, "d2")))\n\n'
                "with pitfall(ValueError):\n    go()"
            ),
            cell('for name in ["e"]:\n    paths.new_run(SHORT, name)'),
            cell('run = paths.new_run(SHORT, "f")\ntb = TensorBoard(run.log_dir)  # created ...\nmodel.fit(x, y)'),
            cell('run = paths.new_run(SHORT, "g")\ntb = [callbacks.tensorboard(run)]\nfit_custom(callbacks_list=tb)'),
            cell('run = paths.new_run(SHORT, "h")\nw = tf.summary.create_file_writer(str(run.log_dir / "train"))'),
            {"cell_type": "markdown", "source": 'paths.new_run("no", "markdown")', "metadata": {}},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "07_demo.ipynb"
    path.write_text(json.dumps(nb))
    found = discover(path)
    assert [(r.notebook, r.run, r.needs_tensorboard) for r in found.runs] == [
        ("07_demo", "a", True),
        ("07_demo", "b", False),
        ("07_demo", "c", False),
        ("07_demo", "d", False),
        ("07_demo", "d2", False),
        ("07_demo", "f", False),
        ("07_demo", "g", True),
        ("07_demo", "h", True),
    ]
    assert not found.hparams_experiment
    assert found.calls_tensorboard
    assert found.unresolved == ["07_demo.ipynb cell 6"]
