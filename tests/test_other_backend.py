"""Every backend-agnostic lesson also runs, with all its assertions, on the other Keras backend.

nbval compares each lesson's stored outputs, recorded on the lesson's own backend (its
``setup(backend=...)`` call: JAX for the backend-agnostic lessons). Here each of those lessons
runs once more in a fresh kernel with ``KERAS_BACKEND=tensorflow`` set before it starts, the way
a learner switches. Outputs are not compared (the numbers differ per backend), but every cell
runs, so every ``assert`` and every pitfall check of the lesson must hold on TensorFlow too.

The lessons run in name order into one temporary root (logs, checkpoints, figures, build), as
``make run`` would, so the repository's own logs/ and checkpoints/ are not touched. Each
notebook's wall time, peak RSS and headline go to ``build/run_results-other-backend.json``
(the README's table per backend).
"""

import json
from dataclasses import asdict

import pytest

from keraslab import paths, runner

LESSONS = sorted((paths.repo_root() / "notebooks").glob("[0-9]*.ipynb"))
AGNOSTIC = [p for p in LESSONS if runner.default_backend(p) in runner.OTHER_BACKEND]
RESULTS = paths.build_dir() / "run_results-other-backend.json"


@pytest.fixture(scope="module")
def other_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("other-backend")
    saved = {}
    with pytest.MonkeyPatch.context() as mp:
        for kind in ("LOGS", "CHECKPOINTS", "FIGURES"):
            mp.setenv(f"KERASLAB_{kind}_DIR", str(root / kind.lower()))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        yield root, saved
    RESULTS.write_text(json.dumps({"results": list(saved.values())}, indent=2))


def test_the_backend_agnostic_lessons_are_the_expected_ones():
    names = [p.name[:2] for p in AGNOSTIC]
    print("run on the other backend too:", names)
    assert names == ["01", "02", "03", "04", "06"]


@pytest.mark.parametrize("lesson", AGNOSTIC, ids=lambda p: p.stem)
def test_lesson_runs_on_the_other_backend(lesson, other_root):
    root, saved = other_root
    other = runner.OTHER_BACKEND[runner.default_backend(lesson)]
    (result,) = runner.run_notebooks([lesson], out_dir=root / "notebooks", backend=other)
    saved[lesson.name] = asdict(result)
    print(f"{lesson.name} on {result.backend}: {result.status}, {result.seconds:.0f} s, {result.headline}")
    assert result.status == "ok", f"{lesson.name} failed on {other}; its error is printed above"
    assert result.backend == other, f"the setup line says backend {result.backend!r}, not {other!r}"
