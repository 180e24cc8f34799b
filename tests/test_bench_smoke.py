"""The benchmark's smoke mode runs end to end and reports every row (no speed thresholds:
the figures live in benchmarks/results/; this checks that the report is complete and sane)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from keraslab import paths

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"

CONFIGS = [
    ("a", "plain code", "tensorflow", 1),
    ("b", "plain code = the lessons' configuration", "jax", 1),
    ("c", "plain code + steps_per_execution", "jax", 32),
    ("d", "plain code + steps_per_execution", "tensorflow", 32),
]


def positive(*values) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in values)


def test_bench_smoke_runs_and_writes_its_reports():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for heading in (
        "## 1. fit: the course material's plain code on TensorFlow and on JAX (the lessons), and one lever",
        "## 2. Matmul roofline at the lessons' shapes (batch 32)",
        "## 3. Custom training loop per step (TensorFlow, lesson 05)",
        "## 4. Notebooks (last `make run`)",
    ):
        assert heading in out.stdout
    folder = paths.build_dir() / "bench-smoke"
    report = json.loads((folder / "latest.json").read_text())
    assert report["mode"] == "smoke"
    assert report["machine"]["versions"]["jax"] != "not installed"

    fit = report["fit"]
    assert [(r["key"], r["configuration"], r["backend"], r["steps_per_execution"]) for r in fit] == CONFIGS
    for r in fit:
        assert r["runs"] == report["settings"]["repeats"] >= 1
        assert positive(r["s_per_epoch"], r["first_epoch_s"], r["samples_per_s"], r["speedup_vs_a"]), r
        assert positive(r["train_s_per_epoch"], r["validation_s_per_epoch"]), r
        assert r["train_s_per_epoch"] < r["s_per_epoch"]
        assert 0.0 <= r["val_accuracy"] <= 1.0
    assert fit[0]["speedup_vs_a"] == 1.0

    roof = report["roofline"]
    assert roof["flops_per_sample"]["train_step"] > 2 * roof["flops_per_sample"]["forward"]
    assert [b["backend"] for b in roof["backends"]] == ["tensorflow", "jax"]
    for b in roof["backends"]:
        assert positive(b["train_step_us"], b["forward_step_us"], b["s_per_epoch"], b["matmul_gflops"]), b
        assert positive(b["gemm_gflops"]), b
    assert [(c["key"], c["backend"]) for c in roof["configurations"]] == [(k, be) for k, _, be, _ in CONFIGS]
    for c in roof["configurations"]:
        assert positive(c["fit_over_roofline"], c["fraction_of_roofline"], c["train_fit_over_roofline"]), c
        assert math.isclose(c["fit_over_roofline"] * c["fraction_of_roofline"], 1.0)
    assert roof["goal"]["backend"] == "jax" and isinstance(roof["goal"]["met"], bool)

    loop = report["custom_loop"]
    assert positive(*loop["ms_per_step"].values()) and set(loop["ms_per_step"]) == {"eager", "tf.function", "fit()"}

    md = (folder / "latest.md").read_text()
    assert md.startswith("# Benchmark (smoke)")
    assert "| (b) | plain code = the lessons' configuration | jax | 1 |" in md
