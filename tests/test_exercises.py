"""Tests of keraslab.exercises: every checker on its solution, its placeholder and wrong answers.

For each exercise (확인 문제) of every lesson:

- the solution in ``solutions/NN_*.py`` prints "✅ Correct" and returns True;
- the placeholder the notebook cell starts with prints "⏳ Not solved yet" and returns None;
- plausible wrong answers print "❌ Not yet" naming what is wrong, and return False;
- nothing ever raises, whatever the checker is given.

The question answers are also checked against what Keras itself does.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from exercise_support import solutions

from keraslab import exercises, i18n

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"

# Each lesson's cases live in tests/exercise_cases_NN.py (TABLE, WRONG and the answers checked against Keras).
CASES = [importlib.import_module(p.stem) for p in sorted((REPO / "tests").glob("exercise_cases_*.py"))]
TABLE: dict[str, tuple[str, str, str]] = {k: v for m in CASES for k, v in m.TABLE.items()}
WRONG: dict[str, list[tuple[str, str]]] = {k: v for m in CASES for k, v in m.WRONG.items()}
for _module in CASES:  # collect each lesson's answer tests here
    globals().update({n: getattr(_module, n) for n in dir(_module) if n.startswith("test_")})


def namespace(source: str) -> dict:
    """Run ``source`` as a notebook cell would, with the usual imports available."""
    import tensorflow as tf

    from keraslab import resume

    scope = {"keras": keras, "np": np, "os": os, "math": math, "tf": tf, "resume": resume}
    exec(textwrap.dedent(source), scope)  # noqa: S102 (test inputs written above)
    return scope


def run_checker(exercise_id: str, answer, capsys) -> tuple[object, str]:
    capsys.readouterr()
    result = exercises.check(exercise_id, answer)
    return result, capsys.readouterr().out


def test_every_lesson_has_3_to_5_exercises_with_a_question_and_a_coding_task():
    assert sorted(exercises.EXERCISES) == sorted(TABLE)
    for lesson in sorted({exercise_id[:2] for exercise_id in TABLE}):
        entries = exercises.list_exercises(lesson)
        assert 3 <= len(entries) <= 5, lesson
        assert {e.kind for e in entries} == {"question", "coding"}, lesson
    for entry in exercises.EXERCISES.values():
        assert entry.checker.__doc__ and "Args:" in entry.checker.__doc__ and "Example" in entry.checker.__doc__


def test_one_solution_file_per_lesson():
    stems = sorted(p.stem for p in SOLUTIONS.glob("0*.py"))
    assert stems == sorted({stem for stem, _, _ in TABLE.values()})
    assert stems == sorted(p.stem for p in (REPO / "notebooks").glob("0*.ipynb"))
    assert (SOLUTIONS / "README.md").is_file()


@pytest.mark.parametrize("exercise_id", sorted(TABLE))
def test_solution_is_correct(exercise_id, capsys):
    stem, name, _ = TABLE[exercise_id]
    result, out = run_checker(exercise_id, solutions(stem)[name], capsys)
    assert out.startswith("✅ Correct: "), out
    assert result is True


@pytest.mark.parametrize("exercise_id", sorted(TABLE))
def test_placeholder_is_not_solved_yet(exercise_id, capsys):
    _, name, placeholder = TABLE[exercise_id]
    result, out = run_checker(exercise_id, namespace(placeholder)[name], capsys)
    assert out.startswith("⏳ Not solved yet: "), out
    assert "replace the `...`" in out
    assert result is None


WRONG_CASES = [(eid, i) for eid in sorted(WRONG) for i in range(len(WRONG[eid]))]


@pytest.mark.parametrize(("exercise_id", "case"), WRONG_CASES, ids=[f"{e}-{i}" for e, i in WRONG_CASES])
def test_wrong_answer_says_what_is_wrong(exercise_id, case, capsys):
    source, phrase = WRONG[exercise_id][case]
    _, name, _ = TABLE[exercise_id]
    result, out = run_checker(exercise_id, namespace(source)[name], capsys)
    assert out.startswith("❌ Not yet: "), out
    assert phrase in out, out
    assert "Hint: " in out or "\n" not in out.strip(), out
    assert result is False


def test_every_exercise_has_a_wrong_answer():
    assert sorted(WRONG) == sorted(TABLE)


def _raises(*args, **kwargs):
    raise RuntimeError("the learner's code broke")


class _Broken(keras.callbacks.Callback):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("the learner's code broke")


@pytest.mark.parametrize("garbage", [None, 42, "x", [], _raises, _Broken, object()],
                         ids=["None", "int", "str", "list", "raising-function", "raising-class", "object"])
def test_checkers_never_raise(garbage, capsys):
    for exercise_id in sorted(TABLE):
        result, out = run_checker(exercise_id, garbage, capsys)
        assert result in (True, False, None), (exercise_id, result)
        assert out.startswith(("✅", "❌", "⏳")), (exercise_id, out)


def test_check_unknown_exercise(capsys):
    result, out = run_checker("09.9", 1, capsys)
    assert result is None and "there is no exercise '09.9'" in out


def test_checkers_leave_no_files_behind(tmp_path, monkeypatch):
    """Coding checks write only to temporary folders they remove: not to the working folder, nor to the
    course's logs/checkpoints folders (redirected into tmp_path by conftest)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for exercise_id in ("01.4", "02.4", "03.4", "06.3", "06.4"):
        stem, name, _ = TABLE[exercise_id]
        assert exercises.check(exercise_id, solutions(stem)[name]) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]
    assert list(cwd.iterdir()) == []


# --------------------------------------------------------------------------- the Korean edition's feedback
HANGUL = re.compile(r"[\uac00-\ud7a3]")
KOREAN_STATUS = ("✅ 정답입니다: ", "❌ 아직 아닙니다: ", "⏳ 아직 풀지 않았습니다: ")


@pytest.fixture
def korean():
    """The checkers as a Korean lesson's kernel runs them (``setup(language="ko")``)."""
    i18n.set_language("ko")
    yield
    i18n.set_language("en")


def untranslated(feedback: str) -> list[str]:
    """English phrases (four words or more) left in Korean feedback, outside code, quotes and error texts."""
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\b\w+(Error|Exception|Warning)\b: .*", " ", feedback)
    return re.findall(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3,}\b", text)


def assert_korean(out: str, status: str) -> None:
    assert out.startswith(status), out
    assert HANGUL.search(out.split(": ", 1)[1]), out
    assert not untranslated(out), (untranslated(out), out)
    for line in out.splitlines()[1:]:
        assert not line.startswith("   Hint"), out


@pytest.mark.parametrize("exercise_id", sorted(TABLE))
def test_korean_feedback_for_the_solution_placeholder_and_wrong_answers(exercise_id, korean, capsys):
    stem, name, placeholder = TABLE[exercise_id]
    assert_korean(run_checker(exercise_id, solutions(stem)[name], capsys)[1], KOREAN_STATUS[0])
    assert_korean(run_checker(exercise_id, namespace(placeholder)[name], capsys)[1], KOREAN_STATUS[2])
    for source, _ in WRONG[exercise_id]:
        assert_korean(run_checker(exercise_id, namespace(source)[name], capsys)[1], KOREAN_STATUS[1])
    for garbage in (None, "x", _raises):
        assert_korean(run_checker(exercise_id, garbage, capsys)[1], KOREAN_STATUS[1:])


def test_the_korean_check_can_fail():
    assert untranslated("❌ 아직 아닙니다: the learning rate was not reduced.") == ["the learning rate was not reduced"]
    assert untranslated("❌ 아직 아닙니다: `model.fit` 에서 ValueError: the input has the wrong shape") == []
