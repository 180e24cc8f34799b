"""The benchmark's smoke mode runs end to end (no thresholds: figures live in the benchmark)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from keraslab import paths

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_bench_smoke_runs_and_writes_its_reports():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "## 1. Course material's plain code vs keraslab's configuration" in out.stdout
    folder = paths.build_dir() / "bench-smoke"
    report = json.loads((folder / "latest.json").read_text())
    assert report["mode"] == "smoke"
    variants = [row["variant"] for row in report["plain_vs_keraslab"]]
    assert variants[:2] == ["plain (course material)", "keraslab configuration"]
    assert all(row["samples_per_s"] > 0 for row in report["plain_vs_keraslab"])
    assert report["custom_loop"]["ms_per_step"]["eager"] > 0
    assert report["flops"]["gemm_gflops"] > 0
    threads = [(row["code"], row["setting"]) for row in report["threads"]]
    assert threads == [
        ("plain", "TensorFlow default"),
        ("plain", "intra 1, inter 1"),
        ("keraslab", "TensorFlow default"),
        ("keraslab", "intra 1, inter 1"),
    ]
    assert all(row["s_per_epoch"] > 0 for row in report["threads"])
    assert "## 5. Thread settings (one process per setting)" in out.stdout
    assert (folder / "latest.md").read_text().startswith("# Benchmark (smoke")
