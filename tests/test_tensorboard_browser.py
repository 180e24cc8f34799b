"""End to end: a Keras run's logs, served by the real TensorBoard, seen in a real browser.

1. a two-epoch ``fit`` of a tiny model with ``keras.callbacks.TensorBoard``, on the JAX
   backend in a child process (into the tmp folders of the autouse fixture in ``conftest.py``);
2. ``tensorboard --logdir`` on a free loopback port, checked over its HTTP API;
3. headless Chromium opens the Time Series page; the test waits until the
   ``epoch_loss`` card has drawn both runs, then checks the rendered DOM and saves
   a screenshot to ``build/screenshots/tensorboard.png`` in the repository;
4. the run also carries an HParams session record (``keraslab.hparams``): the
   HParams plugin's API must list it with its hyperparameter and its last validation
   loss, and the HParams dashboard must show it in the browser
   (``build/screenshots/tensorboard-hparams.png``).

Chromium is driven over the DevTools protocol (``tests/browser.py``). Plain ``chromium --dump-dom`` /
``--screenshot`` runs were tried first: TensorBoard draws a card only when its
IntersectionObserver reports it visible, and under ``--virtual-time-budget`` that
fired in about half the runs, leaving an empty card; waiting in real time for the
card to appear is reliable.

Needs Chromium: ``bash scripts/install_browser.sh`` (or ``CHROMIUM=/path/to/chrome``).
The test fails, never skips, when it is missing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from browser import DevTools, chromium_argv, find_browser, free_port, stop
from PIL import Image

from keraslab import paths

NOTEBOOK, RUN = "00_tensorboard", "tiny-2ep"
LABEL = f"{NOTEBOOK}/{RUN}"
RUNS = [f"{LABEL}/train", f"{LABEL}/validation"]
WINDOW = (1400, 1000)
SERVER_START_S = 90  # TensorBoard imports TensorFlow: ~25 s on a busy 2-core machine
BROWSER_S = 60


def _get(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _tail(path: Path, n: int = 2000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else "(no log)"


def _start_tensorboard(logdir: Path, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = workdir / f"tensorboard-{port}.log"
    env = {**os.environ, "TMPDIR": str(workdir)}  # its .tensorboard-info/ stays private
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}", "--host=127.0.0.1",
             f"--port={port}", "--reload_interval=1"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}", log


def _wait_for_runs(proc: subprocess.Popen, base: str, log: Path) -> list[str]:
    deadline = time.monotonic() + SERVER_START_S
    runs: list[str] = []
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tensorboard exited with {proc.returncode}:\n{_tail(log)}")
        try:
            runs = _get(f"{base}/data/runs", timeout=5)
            if set(RUNS) <= set(runs):
                return runs
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"tensorboard at {base} did not list {RUNS} within {SERVER_START_S} s (saw {runs}):\n{_tail(log)}")


# True once the epoch_loss card shows a chart and a data-table row for every run.
READY_JS = """(() => {
  const cards = [...document.querySelectorAll('scalar-card')];
  const card = cards.find(c => c.textContent.includes('epoch_loss'));
  const rows = card ? [...card.querySelectorAll('tb-data-table-content-row')].map(r => r.textContent.trim()) : [];
  const runs = __RUNS__;
  const chart = !!(card && card.querySelector('canvas, svg path, line-chart'));
  const ready = chart && runs.every(r => rows.some(t => t.includes(r)));
  return JSON.stringify({cards: cards.length, chart: chart, rows: rows, ready: ready});
})()""".replace("__RUNS__", json.dumps(RUNS))

# True once the HParams dashboard's table lists the run with its optimizer and its last
# validation loss (rounded to 4 decimals, as the table shows it). The legacy
# Polymer dashboard lives in shadow roots, so collect text through them.
HPARAMS_READY_JS = r"""(() => {
  const texts = [];
  const walk = root => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
    }
    texts.push(root.textContent || '');
  };
  walk(document);
  const text = texts.join(' ');
  // the metric as the table rounds it (5 significant digits): any number shown within 1e-4 of it
  const shown = (text.match(/\d+\.\d+/g) || []).some(t => Math.abs(parseFloat(t) - __VALUE__) < 1e-4);
  const ready = shown && [__TRIAL__, 'optimizer', 'adam'].every(t => text.includes(t));
  return JSON.stringify({ready: ready, chars: text.length});
})()""".replace("__TRIAL__", json.dumps(RUN))


def _render(browser: str, url: str, workdir: Path, ready_js: str = READY_JS) -> tuple[str, bytes, dict]:
    """Open ``url`` in headless Chromium; wait until ``ready_js`` reports ready (by default: the
    epoch_loss card); return (DOM, PNG, state)."""
    argv = chromium_argv(browser, workdir, WINDOW)
    tools = DevTools(argv, workdir / "chromium.log")
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
            sid,
        )
        tools.send("Page.navigate", {"url": url}, sid)
        deadline = time.monotonic() + BROWSER_S
        state: dict = {}
        while time.monotonic() < deadline:
            value = tools.send("Runtime.evaluate", {"expression": ready_js, "returnByValue": True}, sid)
            state = json.loads(value["result"].get("value") or "{}")
            if state.get("ready"):
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let the chart finish its last frame before the screenshot
        html = tools.send(
            "Runtime.evaluate", {"expression": "document.documentElement.outerHTML", "returnByValue": True}, sid
        )["result"]["value"]
        png = base64.b64decode(tools.send("Page.captureScreenshot", {"format": "png"}, sid)["data"])
        return html, png, state
    finally:
        tools.close()


#: The run, trained in a child process on the JAX backend (the backend-agnostic lessons' default;
#: this pytest process has already imported Keras with another backend).
TINY_RUN = """
import numpy as np
import keras
from keraslab import hparams, paths

keras.utils.set_random_seed(0)
experiment = hparams.experiment(  # logs/00_tensorboard: the HParams experiment record
    paths.logs_dir() / "{notebook}", {{"optimizer": ["adam", "sgd"]}}, {{"validation/epoch_loss": "val loss"}}
)
run = paths.new_run("{notebook}", "{run}")
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
tensorboard = keras.callbacks.TensorBoard(log_dir=run.log_dir)
model.fit(x[:48], y[:48], validation_data=(x[48:], y[48:]), epochs=2, batch_size=16, verbose=0,
          callbacks=[tensorboard, experiment.callback(run, {{"optimizer": "adam"}})])
print("trained on", keras.backend.backend())
"""


def _train_tiny_model(backend: str = "jax") -> paths.Run:
    code = TINY_RUN.format(notebook=NOTEBOOK, run=RUN)
    env = dict(os.environ, KERAS_BACKEND=backend)  # KERASLAB_LOGS_DIR etc.: the autouse fixture's tmp folders
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().endswith(f"trained on {backend}"), done.stdout
    return paths.Run(NOTEBOOK, RUN, paths.logs_dir() / NOTEBOOK / RUN, paths.checkpoints_dir() / NOTEBOOK / RUN)


def test_tensorboard_serves_and_renders_a_keras_run(tmp_path):
    browser = find_browser()  # fail early, before the slow parts
    logdir = paths.logs_dir()  # tmp_path/logs: set by the autouse fixture in conftest.py
    assert tmp_path in logdir.parents or logdir.is_relative_to(tmp_path)
    logdir.mkdir(parents=True, exist_ok=True)
    shots = paths.repo_root() / "build" / "screenshots"  # the real build/, not the fixture's tmp one
    shots.mkdir(parents=True, exist_ok=True)

    # TensorBoard starts (~20 s: it imports TensorFlow) while the model trains.
    server, base, server_log = _start_tensorboard(logdir, tmp_path)
    try:
        run = _train_tiny_model()
        assert sorted(p.name for p in run.log_dir.iterdir() if p.is_dir()) == ["train", "validation"]

        runs = _wait_for_runs(server, base, server_log)
        assert set(RUNS) <= set(runs), runs
        tags = _get(f"{base}/data/plugin/scalars/tags")
        for r in RUNS:
            assert {"epoch_loss", "epoch_accuracy"} <= set(tags[r]), (r, tags.get(r))
        assert "epoch_learning_rate" in tags[RUNS[0]], tags[RUNS[0]]
        for r in RUNS:
            query = urllib.parse.urlencode({"run": r, "tag": "epoch_loss"})
            points = _get(f"{base}/data/plugin/scalars/scalars?{query}")  # [[wall_time, step, value], ...]
            assert [p[1] for p in points] == [0, 1], (r, points)
            assert all(np.isfinite(p[2]) for p in points), (r, points)

        # The HParams plugin's own API: the experiment, and the run as a session group
        # whose metric is the last validation epoch_loss.
        def hparams_api(route, request):
            return _get(
                f"{base}/data/plugin/hparams/{route}?{urllib.parse.urlencode({'request': json.dumps(request)})}"
            )

        experiment = hparams_api("experiment", {})
        assert [(h["name"], h["domainDiscrete"]) for h in experiment["hparamInfos"]] == [("optimizer", ["adam", "sgd"])]
        statuses = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
        groups = hparams_api("session_groups", {"startIndex": 0, "sliceSize": 10, "allowedStatuses": statuses})
        assert [(g["name"], g["hparams"]) for g in groups["sessionGroups"]] == [(RUN, {"optimizer": "adam"})], groups
        session = groups["sessionGroups"][0]["sessions"][0]
        assert session["name"] == LABEL and session["status"] == "STATUS_SUCCESS", session
        query = urllib.parse.urlencode({"run": RUNS[1], "tag": "epoch_loss"})
        last_val_loss = _get(f"{base}/data/plugin/scalars/scalars?{query}")[-1][2]
        [metric] = session["metricValues"]
        assert metric["name"] == {"group": "validation", "tag": "epoch_loss"}, metric
        np.testing.assert_allclose(metric["value"], last_val_loss, rtol=1e-6)

        url = f"{base}/?{urllib.parse.urlencode({'tagFilter': 'epoch_loss'})}#timeseries"
        html, png, state = _render(browser, url, tmp_path)
        hp_ready_js = HPARAMS_READY_JS.replace("__VALUE__", repr(float(last_val_loss)))
        hp_html, hp_png, hp_state = _render(browser, f"{base}/#hparams", tmp_path, hp_ready_js)
    finally:
        stop(server)
    assert server.poll() is not None, "tensorboard is still running"

    (shots / "tensorboard.png").write_bytes(png)
    (shots / "tensorboard.dom.html").write_text(html)
    (shots / "tensorboard-hparams.png").write_bytes(hp_png)
    assert hp_state.get("ready"), (
        f"the HParams dashboard did not list {RUN} with optimizer=adam and val loss {last_val_loss:.4f} "
        f"within {BROWSER_S} s: {hp_state} "
        f"(screenshot {paths.relative(shots / 'tensorboard-hparams.png')})"
    )
    where = f"(DOM in {paths.relative(shots / 'tensorboard.dom.html')}, Chromium log {tmp_path / 'chromium.log'})"
    assert state.get("ready"), f"the epoch_loss card did not show both runs within {BROWSER_S} s: {state} {where}"
    assert "<scalar-card" in html and "epoch_loss" in html, where
    for r in RUNS:
        assert r in html, f"{r} not on the page {where}"

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == WINDOW, (image.format, image.size)
    rgb = np.asarray(image.convert("RGB")).astype(int)
    height = rgb.shape[0]
    assert len(png) > 30_000, f"screenshot only {len(png)} bytes"
    colours = np.unique(rgb[::4, ::4].reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"screenshot has only {len(colours)} colours: blank page?"
    header = rgb[: height // 20]  # TensorBoard's orange (#f57c00) top bar
    orange = (np.abs(header - np.array([245, 124, 0])).sum(axis=2) < 40).mean()
    assert orange > 0.5, f"no TensorBoard header in the screenshot ({orange:.0%} orange)"
