"""The Setup cell of every lesson, both editions, in a kernel without keraslab: the error says how to install it.

In Google Colab (``google.colab`` importable) the message is the exact cell to paste (clone, install, restart);
elsewhere it is ``%pip install -e ..`` and a restart. Each case runs the lesson's own Setup cell in a fresh
interpreter in which ``import keraslab`` fails, with a stand-in ``google.colab`` package for the Colab case.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb")) + sorted((REPO / "notebooks" / "ko").glob("[0-9]*.ipynb"))


def setup_cell(lesson: Path) -> str:
    nb = json.loads(lesson.read_text(encoding="utf-8"))
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def run_without_keraslab(source: str, tmp_path: Path, colab: bool) -> str:
    if colab:
        (tmp_path / "google" / "colab").mkdir(parents=True)
        (tmp_path / "google" / "__init__.py").write_text("")
        (tmp_path / "google" / "colab" / "__init__.py").write_text("")
    try_block = source[: source.index("\nsetup(")]  # the import and its error, not the lesson itself
    program = "import sys\nsys.modules['keraslab'] = None  # a kernel without the course package\n"
    program += f"sys.path.insert(0, {str(tmp_path)!r})\n" + try_block
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, "the Setup cell went on without keraslab"
    return proc.stderr[proc.stderr.rindex("ModuleNotFoundError: "):].strip()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_without_keraslab_the_setup_cell_says_how_to_install_it(lesson, tmp_path):
    source = setup_cell(lesson)
    local = run_without_keraslab(source, tmp_path / "local", colab=False)
    colab = run_without_keraslab(source, tmp_path / "colab", colab=True)
    print(local, colab, sep="\n\n")
    if lesson.parent.name == "ko":  # the same commands, said in Korean (Colab's Korean menu: 런타임 > 세션 다시 시작)
        assert all(re.search(r"[\uac00-\ud7a3]", text) for text in (local, colab)), "the message is in Korean"
        restart, menu = ("다시 시작", "재시작"), ("런타임 > 세션 다시 시작", "Runtime > Restart session")
    else:
        assert local.startswith("ModuleNotFoundError: keraslab is not installed in this kernel")
        assert colab.startswith("ModuleNotFoundError: keraslab is not installed in this kernel")
        restart, menu = ("restart",), ("Runtime > Restart session",)
    assert all(t.startswith("ModuleNotFoundError: ") and "keraslab" in t.split("\n")[0] for t in (local, colab))
    # the kernel starts in the lesson's folder: notebooks/ (install ..) or notebooks/ko/ (install ../..)
    repo = "../.." if lesson.parent.name == "ko" else ".."
    assert re.search(rf"%pip install -e {re.escape(repo)}(?![./])", local), f"install {repo} from {lesson.parent}"
    assert any(r in local for r in restart) and "git clone" not in local
    for step in ("!git clone", "%cd keraslab/notebooks\n", "%pip install -e .."):
        assert step in colab, f"the Colab message lacks {step!r}: {colab}"
    assert any(m in colab for m in menu), f"the Colab message lacks the menu to restart the session: {colab}"
