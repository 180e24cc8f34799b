"""The lessons teach Keras, not this package: code a learner can copy, "defined where taught" (d2l).

- Every package model builder is the code its lesson wrote in a cell: the lesson's ``def``/``class`` of the
  same name, or a ``model = keras.Sequential([...])`` statement, is run on its own and must build the same
  layers with the same configuration and parameter count as the builder.
- A lesson builds a model through a package builder only after the lesson that taught it; no lesson calls
  the package's callback factories or the runner's plumbing (``keraslab.results``, ``paths.relative`` prints).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from keraslab import models

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: package builder -> the lesson that writes it in a cell (later lessons may import it)
TAUGHT_IN: dict[str, str] = models.TAUGHT_IN
#: what a lesson never calls: the runner's and the tests' plumbing
PLUMBING_MODULES = {"keraslab.results", "keraslab.callbacks", "keraslab.runner"}
PLUMBING_CALLS = {("paths", "relative"), ("results", "headline"), ("results", "write_result"),
                  ("results", "read_result")}


def code_cells(lesson: Path) -> list[tuple[int, ast.Module]]:
    nb = json.loads(lesson.read_text(encoding="utf-8"))
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            cells.append((i, ast.parse(python)))
        except SyntaxError:
            pass  # a %%writefile / %%script cell: not kernel Python
    return cells


def _layer_configs(model: keras.Model) -> list[tuple[str, dict]]:
    """Each layer's class and configuration, without names (auto-names depend on the session)."""
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in model.layers
    ]


def _built(obj) -> keras.Model:
    if isinstance(obj, type):  # a subclassed model: build it on zeros of the inputs it takes
        obj = obj()
    if not obj.built:
        inputs, _ = models.random_ticket_data(num_samples=2) if hasattr(models, "random_ticket_data") else ({}, None)
        obj(inputs)
    return obj


def _taught_definitions(lesson: Path, name: str) -> list[tuple[int, ast.stmt]]:
    found = []
    for i, tree in code_cells(lesson):
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and stmt.name == name:
                found.append((i, stmt))
            elif (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                  and ast.unparse(stmt.value.func) in ("keras.Sequential", "keras.models.Sequential")):
                found.append((i, stmt))
    return found


def _run_definition(stmt: ast.stmt, name: str):
    scope = {"keras": keras, "layers": keras.layers, "np": np}
    exec(compile(ast.Module([stmt], []), "<lesson cell>", "exec"), scope)  # noqa: S102 (our own lessons)
    if isinstance(stmt, ast.Assign):
        return scope[stmt.targets[0].id]
    return scope[name] if isinstance(stmt, ast.ClassDef) else scope[name]()  # a builder's defaults


def test_every_builder_says_where_it_is_taught():
    builders = {n for n in models.__all__ if n not in ("TAUGHT_IN", "random_ticket_data")}
    assert set(TAUGHT_IN) == builders, f"models.TAUGHT_IN must name the lesson of every builder: {sorted(builders)}"


@pytest.mark.parametrize("name", sorted(TAUGHT_IN))
def test_the_package_builder_is_the_code_its_lesson_taught(name):
    lesson = next(p for p in LESSONS if p.name.startswith(TAUGHT_IN[name]))
    builder = getattr(models, name)
    expected = _built(builder if isinstance(builder, type) else builder())
    candidates = _taught_definitions(lesson, name)
    assert candidates, f"{lesson.name} writes no `def {name}` / `class {name}` / `keras.Sequential([...])` in a cell"
    tried = []
    for cell, stmt in candidates:
        try:
            taught = _built(_run_definition(stmt, name))
        except Exception as error:  # e.g. a Sequential without an Input, meant for other data
            tried.append(f"cell {cell}: does not build on its own ({type(error).__name__})")
            continue
        same = (_layer_configs(taught) == _layer_configs(expected)
                and taught.count_params() == expected.count_params())
        tried.append(f"cell {cell}: {taught.count_params()} params, layers {[t for t, _ in _layer_configs(taught)]}")
        if same:
            print(f"models.{name}() == {lesson.name} cell {cell}: {taught.count_params():,} parameters")
            return
    pytest.fail(f"no cell of {lesson.name} builds what models.{name}() builds "
                f"({expected.count_params()} params, layers {[t for t, _ in _layer_configs(expected)]}); tried:\n"
                + "\n".join(tried))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_writes_what_it_teaches_and_no_plumbing(lesson):
    number = lesson.name[:2]
    problems = []
    for i, tree in code_cells(lesson):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module in PLUMBING_MODULES or (node.module == "keraslab" and {"results", "callbacks"} & names):
                    problems.append(f"cell {i} imports plumbing: from {node.module} import {sorted(names)}")
                if node.module == "keraslab.models":
                    problems += [f"cell {i} imports models.{n}, taught in lesson {TAUGHT_IN.get(n)}" for n in names
                                 if TAUGHT_IN.get(n, "00") >= number]
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                if pair in PLUMBING_CALLS or node.value.id == "callbacks" and node.attr != "Callback":
                    problems.append(f"cell {i} uses {node.value.id}.{node.attr} (plumbing or a package factory)")
                if node.value.id == "models" and TAUGHT_IN.get(node.attr, "00") >= number:
                    problems.append(f"cell {i} calls models.{node.attr}(), but lesson {TAUGHT_IN[node.attr]} "
                                    "teaches it: write the model in the cell")
            if isinstance(node, ast.Name) and node.id in ("headline", "write_result", "read_result"):
                problems.append(f"cell {i} calls {node.id}() (the runner's plumbing)")
    assert not problems, f"{lesson.name}:\n" + "\n".join(sorted(set(problems)))
