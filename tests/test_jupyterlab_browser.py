"""Run All in the real JupyterLab, in a real browser, as a learner would press it.

1. JupyterLab from this venv on a free 127.0.0.1 port, in a folder holding a copy of
   lesson 01 (the English edition, then the Korean one, ``ko/``) with its outputs cleared,
   and an environment without the Makefile's or pytest's settings (no ``TF_CPP_MIN_LOG_LEVEL``,
   no ``KERAS_BACKEND``, no headless IPython profile): the kernel is an ordinary one that captures fd 2, as on a laptop;
2. headless Chromium opens the notebook and runs JupyterLab's own command
   ``notebook:run-all-cells`` (JupyterLab honours no cell tag here: the lesson has none);
3. when the kernel is idle again, every code cell must have run, no cell may hold an
   error output (pitfall cells *display* their expected error), and no output may hold a
   TensorFlow C++ log line; screenshots go to ``build/screenshots/jupyterlab-01*.png``
   (``jupyterlab-ko-01*.png`` for the Korean lesson);
4. in the Korean lesson, Hangul must be drawn with a Korean font (Chromium's own report of the
   fonts that rendered the title, ``CSS.getPlatformFontsForNode``), not as empty boxes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser import DevTools, chromium_argv, find_browser, free_port, stop

from keraslab import paths

LESSONS = {"en": "01_iris_checkpoint.ipynb", "ko": "ko/01_iris_checkpoint.ipynb"}
#: fonts that have Hangul (scripts/install_browser.sh installs Debian's fonts-nanum)
KOREAN_FONT = re.compile(r"nanum|noto (sans|serif) (cjk|kr)|malgun|apple sd gothic|un ?dotum|baekmuk", re.I)
WINDOW = (1400, 1000)
SERVER_START_S = 90
RUN_ALL_S = 420  # the lesson takes ~15 s alone; a busy 2-core machine and a cold kernel add minutes
TF_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\]|absl::InitializeLog|cuda_platform|cudart_stub", re.M)

STATE_JS = """(() => {
  const app = window.jupyterapp;
  if (!app) return JSON.stringify({stage: 'loading'});
  const panel = app.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model || !panel.sessionContext)
    return JSON.stringify({stage: 'no panel'});
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  const list = panel.content.model.cells;
  for (let i = 0; i < list.length; i++) {
    const cell = list.get(i);
    if (cell.type !== 'code') continue;
    cells.push({count: cell.executionCount, outputs: cell.outputs.toJSON()});
  }
  return JSON.stringify({stage: 'ready', kernel: kernel ? kernel.status : null, cells: cells});
})()"""


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a learner's shell: none of the variables make or pytest set for the notebooks."""
    dropped = ("TF_", "KERAS_BACKEND", "IPYTHONDIR", "PYTHONWARNINGS", "PYTHONHASHSEED", "JUPYTER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["HOME"] = str(home)  # a fresh ~/.jupyter and ~/.ipython: default settings, fd capture on
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _start_lab(root: Path, workdir: Path) -> tuple[subprocess.Popen, str, str, Path]:
    port, token = free_port(), secrets.token_hex(16)
    log = workdir / "jupyterlab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=False"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_clean_env(workdir / "home"),
            cwd=root, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as reply:
                if reply.status == 200:
                    return proc, base, token, log
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    stop(proc)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log.read_text(errors='replace')[-3000:]}")


def _text(output: dict) -> str:
    """Everything an output shows as text: a stream's text, or each of its MIME bundle's strings."""
    text = output.get("text", "")
    parts = [text if isinstance(text, str) else "".join(text)]
    parts += ["".join(v) if isinstance(v, list) else str(v) for v in output.get("data", {}).values()]
    return "\n".join(parts)


def _screenshot(tools: DevTools, sid: str) -> bytes:
    return base64.b64decode(tools.send("Page.captureScreenshot", {"format": "png"}, sid)["data"])


def _evaluate(tools: DevTools, sid: str, expression: str):
    return tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, sid)["result"].get("value")


def _fonts_of(tools: DevTools, sid: str, selector: str) -> list[dict]:
    """The platform fonts Chromium drew the first element matching ``selector`` with."""
    tools.send("DOM.enable", {}, sid)
    tools.send("CSS.enable", {}, sid)
    document = tools.send("DOM.getDocument", {"depth": -1}, sid)["root"]["nodeId"]
    node = tools.send("DOM.querySelector", {"nodeId": document, "selector": selector}, sid)["nodeId"]
    return tools.send("CSS.getPlatformFontsForNode", {"nodeId": node}, sid)["fonts"] if node else []


@pytest.mark.parametrize("edition", sorted(LESSONS))
def test_run_all_in_jupyterlab_runs_every_cell_without_errors_or_log_noise(edition, tmp_path):
    browser = find_browser()
    LESSON, name = LESSONS[edition], "jupyterlab-01" if edition == "en" else "jupyterlab-ko-01"
    root = tmp_path / "lab"
    (root / "ko").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    nb = nbformat.read(paths.repo_root() / "notebooks" / LESSON, as_version=4)
    for cell in nb.cells:  # what shows after the run comes from this run alone
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / LESSON)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    shots = paths.repo_root() / "build" / "screenshots"  # the real build/, not the fixture's tmp one
    shots.mkdir(parents=True, exist_ok=True)

    lab, base, token, lab_log = _start_lab(root, tmp_path)
    tools = DevTools(chromium_argv(browser, tmp_path, WINDOW), tmp_path / "chromium.log")
    state: dict = {}
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}, sid)  # fmt: skip
        tools.send("Page.navigate", {"url": f"{base}/lab/tree/{LESSON}?token={token}"}, sid)

        # Wait for the notebook and an idle kernel, then press Run All through JupyterLab's own command
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            state = json.loads(_evaluate(tools, sid, STATE_JS) or "{}")
            if state.get("stage") == "ready" and state.get("kernel") == "idle":
                break
            time.sleep(1)
        assert state.get("kernel") == "idle", f"the notebook's kernel did not start: {state.get('stage')}"
        _evaluate(tools, sid, "window.jupyterapp.commands.execute('notebook:run-all-cells'), 'started'")

        deadline = time.monotonic() + RUN_ALL_S
        while time.monotonic() < deadline:
            time.sleep(2)
            state = json.loads(_evaluate(tools, sid, STATE_JS) or "{}")
            counts = [c["count"] for c in state.get("cells", [])]
            if state.get("kernel") == "idle" and counts and all(counts):
                break
        time.sleep(1)
        (shots / f"{name}.png").write_bytes(_screenshot(tools, sid))
        _evaluate(tools, sid, "document.querySelector('.jp-RenderedMarkdown h1').scrollIntoView(), 'top'")
        time.sleep(1)
        fonts = _fonts_of(tools, sid, ".jp-RenderedMarkdown h1")
        (shots / f"{name}-top.png").write_bytes(_screenshot(tools, sid))
        # The first pitfall cell, scrolled into view: what a learner sees there
        _evaluate(tools, sid, """(() => {
          const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
          const out = outs.find(o => o.textContent.includes('Traceback'));
          if (out) out.scrollIntoView({block: 'center'});
          return !!out;
        })()""")  # fmt: skip
        time.sleep(1)
        (shots / f"{name}-pitfall.png").write_bytes(_screenshot(tools, sid))
        page_text = _evaluate(tools, sid, "document.body.innerText") or ""
    finally:
        tools.close()
        stop(lab)

    cells = state.get("cells", [])
    counts = [c["count"] for c in cells]
    executed = sum(1 for c in counts if c)
    print(f"code cells: {len(cells)} of {n_code}; executed: {executed}; kernel: {state.get('kernel')}")
    assert len(cells) == n_code, state.get("stage")
    not_run = [i for i, c in enumerate(counts) if not c]
    assert not not_run, f"Run All stopped: code cells {not_run} never ran (JupyterLab log: {lab_log})"
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(cells) for o in c["outputs"]
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors, f"cells with an error output: {errors}"
    texts = [_text(o) for c in cells for o in c["outputs"]]
    noise = [t[:300] for t in texts if TF_LOG.search(t)]
    assert not noise, f"TensorFlow log lines in cell outputs: {noise}"
    assert not TF_LOG.search(page_text), "a TensorFlow log line is visible on the page"
    shown = [o for c in cells for o in c["outputs"] if "text/html" in o.get("data", {}) and "Traceback" in str(o)]
    assert shown and "ValueError: The filepath provided must end in `.keras`" in str(shown[0]["data"]["text/plain"])
    assert any(re.search(r"(test accuracy|정확도): \d", t) for t in texts), "the lesson did not reach its last cells"
    print("fonts of the title:", [(f["familyName"], f["glyphCount"]) for f in fonts])
    if edition == "ko":  # Hangul drawn with a font that has it, not the last-resort font's empty boxes
        assert re.search(r"[\uac00-\ud7a3]", page_text), "no Hangul on the Korean lesson's page"
        assert any(KOREAN_FONT.search(f["familyName"]) and f["glyphCount"] for f in fonts), (
            f"the Korean title was drawn with {fonts}: no Korean font (run scripts/install_browser.sh)")
