"""Every lesson, Run All on Google Colab's stack: Python 3.13 and Colab's versions.

The lessons run in their Korean edition (``notebooks/ko/``): our learners are Korean and most of them open the
Korean lessons in Colab. The English edition is the same code token for token (tests/test_editions.py), and runs
on the pinned stack under strict nbval; running both editions here would add about 1,000 s of notebook time
(8 to 9 minutes of CI on two workers).

``make colab-env`` builds ``.venv-colab`` from ``requirements-colab.txt`` (Colab's pip freeze: TensorFlow 2.20.0,
TensorBoard 2.20.0, Keras 3.13.2, JAX 0.7.2, NumPy 2.1.3, ...), then installs the course the way the README
tells a Colab learner, ``pip install -e .`` (which upgrades Keras to >= 3.15.1 and leaves the rest). ``make test``
builds it first and reuses it while that file and pyproject.toml are unchanged.

Each lesson then runs in a fresh kernel of that environment (tests/run_as_learner.py): no cell tags honoured, a
clean environment (none of the Makefile's or pytest's variables, no headless IPython profile, a fresh HOME), its
own folders for logs, checkpoints and figures. Outputs are not compared with the stored ones (other versions
give other numbers), but every cell must run, so each lesson's own checks and pitfall cells must hold; no
TensorFlow log line may appear in any output; and the TensorBoard logs the lesson wrote are checked
(tests/test_tensorboard_logs.py). Times and the stderr lines a learner sees go to ``build/colab-stack/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_tensorboard_logs import check_notebook_logs

REPO = Path(__file__).resolve().parents[1]
COLAB_PYTHON = REPO / ".venv-colab" / "bin" / "python"
LESSONS = sorted((REPO / "notebooks" / "ko").glob("[0-9]*.ipynb"))
OUT = REPO / "build" / "colab-stack"
TF_LOG = re.compile(
    r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\]|absl::InitializeLog|cuda_platform|cudart_stub|oneDNN custom operations",
    re.M,
)
#: What a learner's kernel never has: the Makefile's and pytest's settings, the headless profile, our venv.
DROPPED = ("TF_", "KERAS_BACKEND", "IPYTHONDIR", "PYTHONWARNINGS", "PYTHONHASHSEED", "PYTHONPATH", "JUPYTER",
           "VIRTUAL_ENV", "KERASLAB_RESULT_FILE", "PYTEST", "MPLBACKEND")


def _lesson_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}" if path.parent.name == "ko" else path.stem


def learner_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED) and not k.startswith("KERASLAB_")}
    main_bin = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != main_bin]
    env["PATH"] = os.pathsep.join([str(COLAB_PYTHON.parent), *path])
    env["HOME"] = str(home)  # default IPython and Jupyter settings: the kernel captures fd 2
    for kind in ("LOGS", "CHECKPOINTS", "FIGURES", "BUILD"):  # this run's own folders, never the repository's
        env[f"KERASLAB_{kind}_DIR"] = str(home / kind.lower())
    if os.environ.get("KERASLAB_DATA_DIR"):  # offline: the shared IDX files, as a learner's own data/ folder would be
        env["KERASLAB_DATA_DIR"] = os.environ["KERASLAB_DATA_DIR"]
    return env


def test_the_colab_environment_has_colabs_versions():
    assert COLAB_PYTHON.is_file(), f"{COLAB_PYTHON} missing: run `make colab-env` (make test builds it)"
    script = "import sys, tensorflow, keras, jax, numpy; print(sys.version_info[:2], tensorflow.__version__, " \
             "keras.__version__, jax.__version__, numpy.__version__)"
    env = learner_env(Path("/tmp"))
    out = subprocess.run([str(COLAB_PYTHON), "-c", script], capture_output=True, text=True, env=env, check=True)
    print(out.stdout.strip())
    pins = dict(line.split("==") for line in (REPO / "requirements-colab.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    versions = out.stdout.split()
    assert versions[:2] == ["(3,", "13)"], out.stdout
    assert versions[2] == pins["tensorflow"] and versions[4] == pins["jax"] and versions[5] == pins["numpy"], out.stdout
    assert tuple(int(p) for p in versions[3].split(".")[:3]) >= (3, 15, 1), "pip install -e . should upgrade Keras"


@pytest.mark.parametrize("lesson", LESSONS, ids=_lesson_id)
def test_lesson_runs_on_colabs_stack(lesson, tmp_path):
    assert COLAB_PYTHON.is_file(), f"{COLAB_PYTHON} missing: run `make colab-env` (make test builds it)"
    executed = OUT / f"{_lesson_id(lesson).replace('/', '-')}.ipynb"
    proc = subprocess.run(
        [str(COLAB_PYTHON), str(REPO / "tests" / "run_as_learner.py"), str(lesson), str(executed)],
        capture_output=True, text=True, env=learner_env(tmp_path), timeout=2400,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {"status": "crashed"}
    nb = nbformat.read(executed, as_version=4) if executed.is_file() else None
    stderr_lines, noise = [], []
    for i, cell in enumerate(nb.cells if nb else []):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "") + "".join(str(v) for v in output.get("data", {}).values())
            if TF_LOG.search(text):
                noise.append((i, text[:300]))
            if output.get("name") == "stderr":
                stderr_lines += [f"cell {i}: {line}" for line in text.splitlines() if line.strip()]
    report.update(lesson=_lesson_id(lesson), stderr=stderr_lines)
    (OUT / f"{executed.stem}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"{report['lesson']}: {report['status']} in {report.get('seconds', '?')} s on Colab's stack")
    print("\n".join(stderr_lines) or "(nothing on stderr)")
    assert report["status"] == "ok", f"{lesson.name} failed on Colab's stack (cell {report.get('failed_cell')}):\n" \
                                     f"{proc.stderr[-4000:]}"
    assert not noise, f"TensorFlow log lines in cell outputs: {noise}"
    check_notebook_logs(lesson, tmp_path / "logs" / "ko")  # setup(language="ko") writes under logs/ko
