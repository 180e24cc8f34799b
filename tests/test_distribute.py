"""Lesson 07's worker script and keraslab.jobs: real multi-worker jobs on 127.0.0.1, one worker killed, the job resumed.

The job tests start ``notebooks/scripts/mnist_worker.py`` processes, each with its own TF_CONFIG
and free loopback ports, all bounded by a timeout; ``jobs.run_job`` kills whatever is still
running when it returns. What the workers did is read from the reports they write
(``--report-dir``), as the lesson reads them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

from keraslab import jobs, paths, processes, results

EPOCHS = 4
KILL_AFTER = 2  # worker 1 is killed right after it reports (and saves) this epoch
SAMPLES = 4000
PER_REPLICA_BATCH = 32
JOB_TIMEOUT = 240
WORKER = paths.repo_root() / "notebooks" / "scripts" / "mnist_worker.py"


# --------------------------------------------------------------------------- jobs without training
def test_free_ports_are_distinct_and_bindable():
    ports = jobs.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_run_job_refuses_a_kill_without_an_epoch():
    with pytest.raises(ValueError, match="needs kill_after_epoch"):
        jobs.run_job([sys.executable, "-c", "pass"], 2, kill_worker=1)


def test_each_worker_gets_its_tf_config_and_never_the_parents_result_file(monkeypatch, tmp_path):
    """Under ``make run`` the notebook's kernel has its own result file; a worker must not write into it."""
    monkeypatch.setenv(results.RESULT_FILE_ENV, str(tmp_path / "kernel.json"))
    envs = jobs.worker_envs(["127.0.0.1:1", "127.0.0.1:2"], {"X": "1"}, victim=1, hold_after=2)
    assert all(results.RESULT_FILE_ENV not in env for env in envs)
    assert [env.get(jobs.HOLD_AFTER_EPOCH) for env in envs] == [None, "2"]
    configs = [json.loads(env["TF_CONFIG"]) for env in envs]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in (0, 1)]
    assert all(c["cluster"] == {"worker": ["127.0.0.1:1", "127.0.0.1:2"]} for c in configs)
    assert all(env["X"] == "1" and env["CUDA_VISIBLE_DEVICES"] == "" for env in envs)


# --------------------------------------------------------------------------- real jobs on 127.0.0.1
def job_env(root: Path, data_dir: Path) -> dict:
    return {
        "KERASLAB_DATA_DIR": str(data_dir),
        "KERASLAB_CHECKPOINTS_DIR": str(root / "checkpoints"),
        "KERASLAB_LOGS_DIR": str(root / "logs"),
        "TMPDIR": str(root / "tmp"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }


def command(root: Path, run: str, batch: int = PER_REPLICA_BATCH, *, fresh: bool = True) -> list[str]:
    reports = root / "reports" / (run if fresh else f"{run}-resumed")
    reports.mkdir(parents=True, exist_ok=True)
    args = ["--run", run, "--epochs", str(EPOCHS), "--samples", str(SAMPLES), "--batch-size", str(batch)]
    return [sys.executable, str(WORKER), *args, "--report-dir", str(reports), *(["--fresh"] if fresh else [])]


def reports(root: Path, run: str, workers: int = 2, *, fresh: bool = True) -> list[dict]:
    folder = root / "reports" / (run if fresh else f"{run}-resumed")
    return [json.loads((folder / f"worker{i}.json").read_text()) for i in range(workers)]


def run_ok(num_workers: int, argv: list[str], env: dict) -> processes.Children:
    job = jobs.run_job(argv, num_workers, timeout=JOB_TIMEOUT, env=env, echo=False)
    assert job.ok, [(w.returncode, w.lines, w.stderr_tail[-2000:]) for w in job.children]
    return job


@pytest.fixture(scope="module")
def jobs_root(tmp_path_factory, shared_data_dir):
    root = tmp_path_factory.mktemp("jobs")
    (root / "tmp").mkdir()
    return root, job_env(root, shared_data_dir)


@pytest.fixture(scope="module")
def single_worker(jobs_root):
    """The same loop in one process without TF_CONFIG (default strategy), global batch 2 x 32."""
    root, env = jobs_root
    worker_env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", results.RESULT_FILE_ENV)}
    worker = processes.run_child(command(root, "single", batch=2 * PER_REPLICA_BATCH), env={**worker_env, **env},
                                 timeout=JOB_TIMEOUT)
    assert worker.ok, worker.stderr_tail[-3000:]
    return worker, reports(root, "single", 1)[0]


@pytest.fixture(scope="module")
def two_workers(jobs_root):
    root, env = jobs_root
    job = run_ok(2, command(root, "two-workers"), env)
    return job, reports(root, "two-workers")


def test_single_process_uses_default_strategy(single_worker):
    worker, report = single_worker
    assert worker.lines[0] == "worker 0 (chief): default strategy, replicas in sync: 1"
    assert report["epochs"] == list(range(1, EPOCHS + 1))
    assert report["chief"] and report["resumed_from_epoch"] == 0


def test_two_workers_finish_and_match_single_worker(two_workers, single_worker):
    job, (chief, other) = two_workers
    assert job.children[0].lines[0] == "worker 0 (chief): MultiWorkerMirroredStrategy, replicas in sync: 2"
    assert job.children[1].lines[0] == "worker 1 (not chief): MultiWorkerMirroredStrategy, replicas in sync: 2"
    for report in (chief, other):
        assert report["epochs"] == list(range(1, EPOCHS + 1))
    # Same global batch, same data order, no dropout: the same losses, epoch by epoch
    single = single_worker[1]["losses"]
    for report in (chief, other):
        np.testing.assert_allclose(report["losses"], single, rtol=1e-4)
    assert chief["losses"][-1] < single[0]
    np.testing.assert_allclose(chief["weights_checksum"], other["weights_checksum"])
    assert chief["test_accuracy"] == other["test_accuracy"] >= 0.8


def test_only_the_chief_writes_and_the_temporary_folders_are_removed(two_workers, jobs_root):
    root, _ = jobs_root
    job, (chief, other) = two_workers
    checkpoints = root / "checkpoints" / "07_distributed" / "two-workers"
    names = sorted(p.name for p in checkpoints.iterdir())
    assert names == ["checkpoint", *[f"ckpt-{e}.{ext}" for e in (3, 4) for ext in ("data-00000-of-00001", "index")]]
    events = list((root / "logs" / "07_distributed" / "two-workers").rglob("events.out.tfevents.*"))
    assert len(events) == 1, events
    assert chief["chief"] and chief["checkpoint_dir"] == str(checkpoints)
    # Worker 1 saved into a temporary folder instead, said so, and it is gone; it wrote no log
    assert not other["chief"] and other["log_dir"] is None
    assert job.children[1].lines[1].endswith("(temporary, removed)")
    assert Path(other["checkpoint_dir"]).parent == root / "tmp" and not Path(other["checkpoint_dir"]).exists()
    assert list((root / "tmp").glob("keraslab-*")) == []


def test_kill_one_worker_then_restart_resumes(jobs_root, two_workers):
    root, env = jobs_root
    killed = jobs.run_job(command(root, "killed"), 2, timeout=JOB_TIMEOUT, env=env, echo=False, kill_worker=1,
                          kill_after_epoch=KILL_AFTER)
    assert not killed.timed_out
    assert killed.killed == 1 and killed.children[1].returncode == -signal.SIGKILL
    # The survivor cannot go on alone: its collective all-reduce fails and it exits with an error
    assert killed.children[0].returncode not in (0, None)
    chief, victim = reports(root, "killed")
    assert "test_accuracy" not in chief and chief["error"], chief
    saved = chief["epochs"]
    assert saved == list(range(1, KILL_AFTER + 1)), saved  # the victim held: nobody passed epoch KILL_AFTER
    assert victim["epochs"] == saved

    # Restart the whole job (all workers), without --fresh: it resumes after the last checkpoint
    resumed = run_ok(2, command(root, "killed", fresh=False), env)
    for worker, report in zip(resumed.children, reports(root, "killed", fresh=False), strict=True):
        assert f"resumed from epoch {saved[-1]} (ckpt-{saved[-1]})" in worker.lines
        assert report["resumed_from_epoch"] == saved[-1]
        assert report["epochs"] == list(range(saved[-1] + 1, EPOCHS + 1))  # no epoch repeated, none skipped
    # And it ends where the uninterrupted job ended
    uninterrupted = two_workers[1][0]
    resumed_chief = reports(root, "killed", fresh=False)[0]
    np.testing.assert_allclose(resumed_chief["losses"][-1], uninterrupted["losses"][-1], rtol=1e-4)
    np.testing.assert_allclose(resumed_chief["weights_checksum"], uninterrupted["weights_checksum"], rtol=1e-4)
    assert list((root / "tmp").glob("keraslab-*")) == []


def test_keras_fit_under_multi_worker_strategy_still_crashes(jobs_root):
    """The lesson's pitfall 5: when a Keras release fixes fit() here, this fails and the lesson must change."""
    root, env = jobs_root
    folder = root / "reports" / "keras-fit"
    folder.mkdir(parents=True)
    argv = [sys.executable, str(WORKER), "--keras-fit", "--epochs", "1", "--samples", "512"]
    argv += ["--report-dir", str(folder)]
    job = jobs.run_job(argv, 2, timeout=JOB_TIMEOUT, env=env, echo=False)
    assert not job.ok and not job.timed_out
    for index in range(2):
        assert "values.PerReplica'>) to a Tensor" in json.loads((folder / f"worker{index}.json").read_text())["error"]
