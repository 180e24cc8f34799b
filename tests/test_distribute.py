"""keraslab.distribute, .cluster, .worker and .jobs: strategy choice, TF_CONFIG, real multi-worker jobs on 127.0.0.1.

The job tests start worker processes (``python -m keraslab.worker``), each with its own
TF_CONFIG and free loopback ports, all bounded by a timeout; ``jobs.run_job`` kills whatever is
still running when it returns. What the workers did is read from their JSON results.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from keraslab import cluster, distribute, jobs, processes, results

EPOCHS = 4
KILL_AFTER = 2  # worker 1 is killed right after it reports (and saves) this epoch
SAMPLES = 4000
PER_REPLICA_BATCH = 32
JOB_TIMEOUT = 240

TWO_WORKERS = {
    "cluster": {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]},
    "task": {"type": "worker", "index": 1},
}


# --------------------------------------------------------------------------- strategy_from_env and helpers
def test_default_strategy_without_tf_config(monkeypatch, capsys):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribute.strategy_from_env()
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert capsys.readouterr().out == "Strategy: default (no distribution), replicas in sync: 1\n"


def test_empty_tf_config_means_no_cluster(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "  ")
    assert cluster.parse_tf_config() == {}
    assert cluster.task_of() == (None, None)
    assert cluster.is_chief()


def test_parse_tf_config_from_env(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    assert cluster.parse_tf_config() == TWO_WORKERS
    assert cluster.task_of() == ("worker", 1)
    assert not cluster.is_chief()


@pytest.mark.parametrize(
    ("members", "task", "chief"),
    [
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
        ({"chief": ["c:1"], "worker": ["a:1"], "evaluator": ["e:1"]}, {"type": "evaluator", "index": 0}, False),
    ],
)
def test_chief_detection(members, task, chief):
    assert cluster.is_chief({"cluster": members, "task": task}) is chief
    assert cluster.is_chief(json.dumps({"cluster": members, "task": task})) is chief


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "is not in its cluster"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "is not in its cluster"),
    ],
)
def test_bad_tf_config_is_explained(text, message):
    with pytest.raises(ValueError, match=message):
        cluster.parse_tf_config(text)


def test_make_tf_config_round_trips():
    addresses = ["127.0.0.1:5000", "127.0.0.1:5001"]
    configs = [cluster.parse_tf_config(cluster.make_tf_config(addresses, i)) for i in range(2)]
    assert [cluster.task_of(c) for c in configs] == [("worker", 0), ("worker", 1)]
    assert [cluster.is_chief(c) for c in configs] == [True, False]
    with pytest.raises(ValueError):
        cluster.make_tf_config(addresses, 2)


def test_global_batch_size():
    assert distribute.global_batch_size(64, 1) == 64
    assert distribute.global_batch_size(64, 2) == 128

    class FakeStrategy:
        num_replicas_in_sync = 8

    assert distribute.global_batch_size(32, FakeStrategy()) == 256
    with pytest.raises(ValueError):
        distribute.global_batch_size(0, 2)


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = jobs.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_write_dir_chief_writes_in_place_others_in_temp(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = tmp_path / "checkpoints" / "07_distributed" / "run"
    chief = {**TWO_WORKERS, "task": {"type": "worker", "index": 0}}
    with distribute.write_dir(folder, chief) as target:
        assert target == folder
        (target / "file").write_text("kept")
    assert (folder / "file").read_text() == "kept"

    with distribute.write_dir(folder, TWO_WORKERS) as target:
        assert target == distribute.write_target(folder, TWO_WORKERS)
        assert target.parent == tmp_path / "tmp" and target.is_dir()
        (target / "file").write_text("dropped")
    assert not target.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["file"]


def test_configure_logical_cpus_after_init_explains(monkeypatch):
    import tensorflow as tf

    tf.constant(1)  # devices are initialised now
    count = len(tf.config.list_logical_devices("CPU")) + 1
    with pytest.raises(RuntimeError, match="right after `import tensorflow`"):
        distribute.configure_logical_cpus(count)


def test_cluster_size_counts_the_training_processes():
    assert cluster.cluster_size(TWO_WORKERS) == 2
    assert cluster.cluster_size({"cluster": {"chief": ["c:1"], "worker": ["a:1"], "evaluator": ["e:1"]}}) == 2
    assert cluster.cluster_size("") == 0


def test_run_job_refuses_a_kill_without_an_epoch():
    with pytest.raises(ValueError, match="needs kill_after_epoch"):
        jobs.run_job(2, kill_worker=1)


def test_workers_never_inherit_the_parents_result_file(monkeypatch, tmp_path):
    """Under ``make run`` the notebook's kernel has its own result file; each worker must get a fresh one."""
    monkeypatch.setenv(results.RESULT_FILE_ENV, str(tmp_path / "kernel.json"))
    envs = jobs._worker_envs(["127.0.0.1:1", "127.0.0.1:2"], {"X": "1"}, victim=1, epoch=2)
    assert all(results.RESULT_FILE_ENV not in env for env in envs)
    assert [env.get("KERASLAB_HOLD_AFTER_EPOCH") for env in envs] == [None, "2"]
    assert [cluster.task_of(env["TF_CONFIG"]) for env in envs] == [("worker", 0), ("worker", 1)]
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


def worker_args(run: str, batch: int = PER_REPLICA_BATCH, *, fresh: bool = True) -> list[str]:
    args = ["--run", run, "--epochs", str(EPOCHS), "--samples", str(SAMPLES), "--batch-size", str(batch)]
    return [*args, "--fresh"] if fresh else args


def result_of(worker: processes.ChildResult) -> dict:
    assert worker.result is not None, (worker.returncode, worker.lines, worker.stderr_tail[-2000:])
    return worker.result


def run_ok(num_workers: int, args: list[str], env: dict) -> jobs.JobResult:
    job = jobs.run_job(num_workers, args, timeout=JOB_TIMEOUT, env=env, echo=False)
    assert job.ok, [(w.returncode, w.lines, w.stderr_tail[-2000:]) for w in job.workers]
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
    worker = processes.run_child(
        [sys.executable, "-m", "keraslab.worker", *worker_args("single", batch=2 * PER_REPLICA_BATCH)],
        env={**worker_env, **env},
        timeout=JOB_TIMEOUT,
    )
    assert worker.ok, worker.stderr_tail[-3000:]
    return worker


@pytest.fixture(scope="module")
def two_workers(jobs_root):
    root, env = jobs_root
    return run_ok(2, worker_args("two-workers"), env)


def test_single_process_uses_default_strategy(single_worker):
    assert single_worker.lines[0] == "Strategy: default (no distribution), replicas in sync: 1"
    assert result_of(single_worker)["epochs"] == list(range(1, EPOCHS + 1))
    assert single_worker.result["chief"] and single_worker.result["resumed_from_epoch"] == 0


def test_two_workers_finish_and_match_single_worker(two_workers, single_worker):
    assert two_workers.chief.lines[0].startswith("Strategy: MultiWorkerMirroredStrategy, replicas in sync: 2")
    for worker in two_workers.workers:
        assert result_of(worker)["epochs"] == list(range(1, EPOCHS + 1))
    # Same global batch, same data order, no dropout: the same losses, epoch by epoch
    single = single_worker.result["losses"]
    for worker in two_workers.workers:
        np.testing.assert_allclose(worker.result["losses"], single, rtol=1e-4)
    chief = two_workers.chief.result
    np.testing.assert_allclose(chief["final_loss"], single_worker.result["final_loss"], rtol=1e-4)
    assert chief["final_loss"] < single[0]
    np.testing.assert_allclose(chief["weights_checksum"], two_workers.workers[1].result["weights_checksum"])
    assert chief["test_accuracy"] == two_workers.workers[1].result["test_accuracy"] >= 0.8


def test_only_the_chief_writes(two_workers, jobs_root):
    root, _ = jobs_root
    checkpoints = root / "checkpoints" / "07_distributed" / "two-workers"
    names = sorted(p.name for p in checkpoints.iterdir())
    assert names == ["checkpoint", *[f"ckpt-{e}.{ext}" for e in (3, 4) for ext in ("data-00000-of-00001", "index")]]
    events = list((root / "logs" / "07_distributed" / "two-workers").rglob("events.out.tfevents.*"))
    assert len(events) == 1, events
    chief, other = (result_of(w) for w in two_workers.workers)
    assert chief["chief"] and chief["checkpoint_dir"] == str(checkpoints)
    # Worker 1 wrote to temporary folders instead, said so, and they are gone
    assert not other["chief"]
    assert two_workers.workers[1].lines[1].endswith("(temporary, removed)")
    for folder in (other["checkpoint_dir"], other["log_dir"]):
        assert Path(folder).parent == root / "tmp" and not Path(folder).exists(), folder
    assert list((root / "tmp").glob("keraslab-*")) == []


def test_lesson_07s_worker_temp_folders_are_removed(two_workers, jobs_root, monkeypatch):
    """What lesson 07 used to check in a cell: worker 1's temporary folders, as named by worker_temp_dir."""
    import tempfile

    root, _ = jobs_root
    monkeypatch.setattr(tempfile, "tempdir", str(root / "tmp"))
    worker1_config = cluster.make_tf_config(["127.0.0.1:20000", "127.0.0.1:20001"], 1)
    folders = [
        distribute.worker_temp_dir(root / kind / "07_distributed" / "two-workers", worker1_config)
        for kind in ("checkpoints", "logs")
    ]
    assert [str(f) for f in folders] == [two_workers.workers[1].result[k] for k in ("checkpoint_dir", "log_dir")]
    assert [f.exists() for f in folders] == [False, False]


def test_kill_one_worker_then_restart_resumes(jobs_root, two_workers):
    root, env = jobs_root
    killed = jobs.run_job(
        2,
        worker_args("killed"),
        timeout=JOB_TIMEOUT,
        env=env,
        echo=False,
        kill_worker=1,
        kill_after_epoch=KILL_AFTER,
    )
    assert not killed.timed_out
    assert killed.killed == 1 and killed.workers[1].returncode == -signal.SIGKILL
    # The survivor cannot go on alone: its collective all-reduce fails and it exits with an error
    assert killed.chief.returncode not in (0, None)
    chief = result_of(killed.chief)
    assert "test_accuracy" not in chief and chief["error"], chief
    assert jobs.why_stopped(killed.chief) == chief["error"].splitlines()[0]
    saved = chief["epochs"]
    assert saved == list(range(1, KILL_AFTER + 1)), saved  # the victim held: nobody passed epoch KILL_AFTER
    assert result_of(killed.workers[1])["epochs"] == saved

    # Restart the whole job (all workers), without --fresh: it resumes after the last checkpoint
    resumed = run_ok(2, worker_args("killed", fresh=False), env)
    for worker in resumed.workers:
        assert f"resumed from epoch {saved[-1]} (ckpt-{saved[-1]})" in worker.lines
        assert result_of(worker)["resumed_from_epoch"] == saved[-1]
        assert worker.result["epochs"] == list(range(saved[-1] + 1, EPOCHS + 1))  # no epoch repeated, none skipped
    # And it ends where the uninterrupted job ended
    np.testing.assert_allclose(resumed.chief.result["final_loss"], two_workers.chief.result["final_loss"], rtol=1e-4)
    np.testing.assert_allclose(
        resumed.chief.result["weights_checksum"], two_workers.chief.result["weights_checksum"], rtol=1e-4
    )
    assert list((root / "tmp").glob("keraslab-*")) == []


# --------------------------------------------------------------------------- the strategy for any device count
class _Device:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize(
    "gpus, cpus, expected",
    [
        (0, 1, ("default", None)),
        (0, 2, ("mirrored", ["/device:CPU:0", "/device:CPU:1"])),
        (1, 1, ("mirrored", ["/device:GPU:0"])),  # a laptop or a Colab GPU runtime: one replica
        (1, 2, ("mirrored", ["/device:GPU:0"])),  # GPUs win over logical CPUs
        (3, 1, ("mirrored", ["/device:GPU:0", "/device:GPU:1", "/device:GPU:2"])),
    ],
)
def test_strategy_choice_for_each_device_list(monkeypatch, gpus, cpus, expected):
    import tensorflow as tf

    devices = {
        "GPU": [_Device(f"/device:GPU:{i}") for i in range(gpus)],
        "CPU": [_Device(f"/device:CPU:{i}") for i in range(cpus)],
    }
    chosen = []
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind: devices[kind])
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", lambda names: chosen.append(names) or "mirrored")
    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: "default")
    strategy = distribute.strategy_from_env(verbose=False)
    assert (strategy, chosen[0] if chosen else None) == expected
