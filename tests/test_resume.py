"""Kill training for real (SIGKILL, in subprocesses) and check that it resumes exactly.

Each trial kills a worker at a random point (seeded: KERASLAB_KILL_SEED, default 2026),
restarts it, and checks the finished run against an uninterrupted one. The workers run the
resume demo (keraslab.resume_demo) through keraslab.processes, and report what they did as JSON.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keraslab import resume, resume_demo, saving
from keraslab.processes import ChildResult, run_child, run_children
from keraslab.results import RESULT_FILE_ENV
from keraslab.saving import CheckpointError

WORKER = Path(__file__).with_name("resume_worker.py")
EPOCHS = 12
SAMPLES = 3000
KILLS_PER_SEQUENCE = 4
SEQUENCES = 5  # 5 x 4 = 20 kills
SEED = int(os.environ.get("KERASLAB_KILL_SEED", "2026"))
TIMEOUT = 240


def worker_env(tmp: Path, **extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != RESULT_FILE_ENV}  # each child: its own file
    env.update(
        KERASLAB_CHECKPOINTS_DIR=str(tmp / "checkpoints"),
        KERASLAB_LOGS_DIR=str(tmp / "logs"),
        TF_CPP_MIN_LOG_LEVEL="3",
        OMP_NUM_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
        TF_NUM_INTRAOP_THREADS="1",
        **extra,
    )
    return env


def worker(*args: str) -> list[str]:
    return [sys.executable, str(WORKER), *args]


def train_args(fresh=False):
    return ["--", "--epochs", str(EPOCHS), "--samples", str(SAMPLES), *(["--fresh"] if fresh else [])]


def run_to_end(tmp: Path, fresh=False) -> ChildResult:
    child = run_child(worker(*train_args(fresh)), env=worker_env(tmp), timeout=TIMEOUT)
    assert child.ok, (child.lines[-20:], child.stderr_tail[-2000:])
    return child


def kill_when(tmp: Path, args: list[str], condition, delay: float = 0.0) -> ChildResult:
    """Run a worker; SIGKILL it ``delay`` seconds after ``condition(its lines so far)`` first holds."""
    ran = run_children(
        [worker(*args)],
        envs=[worker_env(tmp)],
        timeout=TIMEOUT,
        kill=(0, lambda lines: condition(lines[0])),
        kill_delay=delay,
    )
    assert not ran.timed_out, ran.children[0].lines[-20:]
    return ran.children[0]


def epoch_reached(at_least: int):
    """A kill condition: the worker printed ``epoch N done`` for some N >= ``at_least``."""
    return lambda lines: any(line.startswith("epoch ") and int(line.split()[1]) >= at_least for line in lines)


def final_weights(tmp: Path) -> list[np.ndarray]:
    model = resume_demo.demo_model()
    saving.load_weights(model, tmp / "checkpoints" / "06_reliable" / "resume-demo" / "final.weights.h5")
    return model.get_weights()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    result = run_to_end(tmp, fresh=True).result
    assert (result["resumed_from_epoch"], result["finished_epochs"], result["epochs_trained"]) == (0, EPOCHS, EPOCHS)
    return final_weights(tmp)


def kill_sequence(tmp: Path, rng: random.Random, log: list) -> None:
    """Start, kill at a random moment of a random epoch, restart; KILLS_PER_SEQUENCE times."""
    done = 0
    for _ in range(KILLS_PER_SEQUENCE):
        if done >= EPOCHS - 1:
            break
        kill_after = rng.randint(done, EPOCHS - 1)  # kill once an epoch >= this one finished, after a delay
        delay = rng.uniform(0.0, 0.4)
        child = kill_when(tmp, train_args(), epoch_reached(kill_after), delay)
        killed = child.returncode == -signal.SIGKILL
        log.append({"kill_after_epoch": kill_after, "delay": round(delay, 3), "killed": killed})
        done = max(done, (child.result or {}).get("last_epoch_done", 0))


@pytest.mark.parametrize("sequence", range(SEQUENCES))
def test_kill_and_resume_matches_uninterrupted(tmp_path, reference, sequence):
    rng = random.Random(SEED * 100 + sequence)
    log: list = []
    kill_sequence(tmp_path, rng, log)
    result = run_to_end(tmp_path).result
    killed = sum(entry["killed"] for entry in log)
    assert killed >= 1, log
    assert result["finished_epochs"] == EPOCHS, (result, log)
    # 1. the same final weights as the uninterrupted run, bit for bit
    for got, want in zip(final_weights(tmp_path), reference, strict=True):
        np.testing.assert_array_equal(got, want, err_msg=f"kills: {log}")
    run_ck = tmp_path / "checkpoints" / "06_reliable" / "resume-demo"
    # 2. a loadable best checkpoint
    best = saving.load_model(run_ck / "best.keras")
    assert all(np.isfinite(w).all() for w in best.get_weights())
    # 3. one CSV row per epoch, in order, no replays
    with open(tmp_path / "logs" / "06_reliable" / "resume-demo" / "training.csv", newline="") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == list(range(EPOCHS)), (epochs, log)
    # 4. the backup is gone after a finished run, and no temporary files are left behind
    assert not (run_ck / "backup").exists()
    assert sorted(p.name for p in run_ck.iterdir()) == ["best.keras", "final.weights.h5", "finished.weights.h5"]
    print(f"sequence {sequence}: {killed} kills, log {log}")


# Every named commit and cleanup point of a run (saving.pause_point), with the occurrence to stop at.
KILL_POINTS = [
    "backup-weights-staged@3",  # epoch 3's backup weights sealed in their temporary folder
    "backup-pending-written@3",  # ... and the pending metadata written: before commit point 1
    "backup-weights-committed@3",  # between the two commit points
    "backup-committed@3",  # epoch 3 fully committed
    "before-replace:training_metadata.json.pending@3",
    "before-replace:best.keras@2",  # a best-model checkpoint written, not yet committed
    "after-replace:best.keras@2",
    "before-replace:finished.weights.h5",  # the end: final weights written, not committed
    "finish-committed",  # finished marker committed, backup not yet removed
    "cleanup-metadata-deleted",  # between the two deletions of the backup cleanup
    "cleanup-done",  # backup removed, the demo's final.weights.h5 not yet written
    "before-replace:final.weights.h5",
    "after-replace:final.weights.h5",  # everything done: the restart is a rerun of a finished run
]


def kill_at_point(tmp: Path, point: str, fresh: bool = True) -> ChildResult:
    """Run a worker that stops at the named point (KERASLAB_PAUSE_AT) and SIGKILL it there."""
    env = worker_env(tmp, KERASLAB_PAUSE_AT=point)
    child = run_child(worker(*train_args(fresh)), env=env, timeout=TIMEOUT, kill_at="PAUSED ")
    assert child.returncode == -signal.SIGKILL, f"never reached {point}: {child.lines[-10:]}"
    return child


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_at_every_commit_and_cleanup_point_restarts_by_itself(tmp_path, reference, point):
    kill_at_point(tmp_path, point)
    result = run_to_end(tmp_path).result  # no human step: just run it again
    assert result["finished_epochs"] == EPOCHS, (point, result)
    if point.startswith(("cleanup", "finish", "before-replace:final", "after-replace:final")):
        assert result["already_finished"] and result["epochs_trained"] == 0, (point, result)  # no retraining
    for got, want in zip(final_weights(tmp_path), reference, strict=True):
        np.testing.assert_array_equal(got, want, err_msg=point)
    run_ck = tmp_path / "checkpoints" / "06_reliable" / "resume-demo"
    saving.load_model(run_ck / "best.keras")
    with open(tmp_path / "logs" / "06_reliable" / "resume-demo" / "training.csv", newline="") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(EPOCHS)), point
    assert sorted(p.name for p in run_ck.iterdir()) == ["best.keras", "final.weights.h5", "finished.weights.h5"]


def kill_during_save(tmp: Path, *args: str, save_number: int = 2) -> None:
    """SIGKILL the worker 0.2 s into its ``save_number``-th ``.keras`` save (``--slow-save`` makes each take 3 s)."""

    def saving_keras(lines):
        return sum(line.startswith("SAVING ") and line.split()[1].endswith(".keras") for line in lines) >= save_number

    child = kill_when(tmp, ["--slow-save", *args], saving_keras, delay=0.2)
    assert child.returncode == -signal.SIGKILL, "the worker was not killed during a save"


def test_kill_during_checkpoint_write_keeps_previous_file(tmp_path):
    kill_during_save(tmp_path, *train_args(fresh=True))
    best = tmp_path / "checkpoints" / "06_reliable" / "resume-demo" / "best.keras"
    model = saving.load_model(best)  # the first save's file, whole
    assert model.count_params() == resume_demo.demo_model().count_params()
    # and the run resumes and finishes
    assert run_to_end(tmp_path).result["finished_epochs"] == EPOCHS


@pytest.mark.xfail(
    strict=True,
    reason="Keras's ModelCheckpoint writes in place: a kill mid-save truncates the previous checkpoint. "
    "If this starts passing, Keras made saves atomic and keraslab's wrapper can go.",
)
def test_plain_model_checkpoint_loses_the_previous_file(tmp_path):
    path = tmp_path / "plain.keras"
    kill_during_save(tmp_path, "--plain", str(path))
    keras.saving.load_model(path)


def test_nan_stops_training_and_keeps_good_files(tmp_path, monkeypatch):
    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp_path / "ck"))
    monkeypatch.setenv("KERASLAB_LOGS_DIR", str(tmp_path / "logs"))
    x, y = resume_demo.demo_data(1000)
    model = resume_demo.demo_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    run = paths.new_run("06_reliable", "nan")
    explode = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e30 if epoch >= 2 else 0.01)
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered"):
        model.fit(
            x, y, validation_split=0.2, epochs=5, verbose=0, callbacks=[explode, *resume.resumable_callbacks(run)]
        )
    best = saving.load_model(run.checkpoint_dir / "best.keras")
    assert all(np.isfinite(w).all() for w in best.get_weights())
    backup = run.checkpoint_dir / "backup"
    assert sorted(p.name for p in backup.iterdir()) == ["latest.weights.h5", "training_metadata.json"]
    assert saving.read_json(backup / "training_metadata.json")["epoch"] == 2


def backup_folder(tmp: Path) -> Path:
    run_child(worker(*train_args(fresh=True)), env=worker_env(tmp), timeout=TIMEOUT, kill_at="epoch 3 done")
    return tmp / "checkpoints" / "06_reliable" / "resume-demo" / "backup"


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interrupted")
    folder = backup_folder(tmp)
    assert (folder / "training_metadata.json").exists()
    return tmp


def resume_in_process(tmp: Path, monkeypatch):
    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp / "checkpoints"))
    monkeypatch.setenv("KERASLAB_LOGS_DIR", str(tmp / "logs"))
    x, y = resume_demo.demo_data(SAMPLES)
    model = resume_demo.demo_model()
    run = paths.new_run("06_reliable", "resume-demo", fresh=False)
    model.fit(x, y, validation_split=0.2, epochs=EPOCHS, verbose=0, callbacks=resume.resumable_callbacks(run))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: f.write_text(f.read_text()[:10]), r"training_metadata\.json: truncated or corrupt JSON"),
        (lambda f: f.with_name("latest.weights.h5").write_bytes(b"junk"), "SHA-256 differs"),
        (lambda f: _flip(f.with_name("latest.weights.h5")), "SHA-256 differs"),
        (lambda f: (_flip(f.with_name("latest.weights.h5")), f.unlink()), "does not match the digest keraslab sealed"),
    ],
    ids=["truncated-metadata", "corrupt-weights", "flipped-weights", "flipped-weights-no-metadata"],
)
def test_damaged_backup_is_a_clear_error(tmp_path, interrupted, monkeypatch, damage, message):
    import shutil

    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    meta = tmp_path / "checkpoints" / "06_reliable" / "resume-demo" / "backup" / "training_metadata.json"
    damage(meta)
    with pytest.raises(CheckpointError, match=message) as e:
        resume_in_process(tmp_path, monkeypatch)
    assert "Delete" in str(e.value) or "delete" in str(e.value)


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if offset is None else offset] ^= 0b0000_0100
    path.write_bytes(bytes(data))


def _capture_callbacks(monkeypatch) -> list:
    captured: list = []
    original = resume.resumable_callbacks

    def capture(run, **kw):
        captured[:] = original(run, **kw)
        return captured

    monkeypatch.setattr(resume, "resumable_callbacks", capture)
    return captured


def test_metadata_without_weights_starts_over_by_itself(tmp_path, interrupted, monkeypatch, capsys):
    """What a kill during Keras's own backup cleanup left (metadata only): no human step, a clean restart."""
    import shutil

    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    folder = tmp_path / "checkpoints" / "06_reliable" / "resume-demo" / "backup"
    (folder / "latest.weights.h5").unlink()
    cbs = _capture_callbacks(monkeypatch)
    resume_in_process(tmp_path, monkeypatch)
    assert "training starts over from epoch 0" in capsys.readouterr().out
    assert cbs[-1].resumed_from_epoch == 0 and cbs[-1].epochs_done == EPOCHS


def test_weights_without_metadata_rebuild_it(tmp_path, interrupted, monkeypatch):
    """The backup weights carry their own metadata, sealed inside: a lost JSON is rebuilt, progress kept."""
    import shutil

    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    folder = tmp_path / "checkpoints" / "06_reliable" / "resume-demo" / "backup"
    epoch = saving.read_json(folder / "training_metadata.json")["epoch"]
    (folder / "training_metadata.json").unlink()
    cbs = _capture_callbacks(monkeypatch)
    resume_in_process(tmp_path, monkeypatch)
    assert cbs[-1].resumed_from_epoch == epoch >= 2


def test_finished_run_rerun_returns_its_result(tmp_path, monkeypatch, capsys):
    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("KERASLAB_LOGS_DIR", str(tmp_path / "logs"))
    x, y = resume_demo.demo_data(600)

    def fit(epochs=3):
        keras.utils.set_random_seed(1)
        model = resume_demo.demo_model()
        run = paths.new_run("06_reliable", "finished", fresh=False)
        cbs = resume.resumable_callbacks(run, tensorboard=False)
        history = model.fit(x, y, validation_split=0.2, epochs=epochs, verbose=0, shuffle=False, callbacks=cbs)
        return model, cbs[-1], history, run

    first, backup, history, run = fit()
    assert len(history.history["loss"]) == 3 and not backup.already_finished
    assert resume.read_finished(run.checkpoint_dir) == {"epochs_done": 3, "epochs_requested": 3, "stopped_early": False}
    csv_before = (run.log_dir / "training.csv").read_text()
    again, backup, history, _ = fit()
    assert backup.already_finished and backup.epochs_done == 3 and history.history == {}
    assert "this run already finished (3 epochs)" in capsys.readouterr().out
    for got, want in zip(again.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(again.optimizer.variables, first.optimizer.variables, strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert (run.log_dir / "training.csv").read_text() == csv_before  # the log of the finished run is kept
    with pytest.raises(CheckpointError, match=r"already finished its 3 epochs; this fit asks for 5.*fresh=True"):
        fit(epochs=5)


def test_stale_temporaries_are_swept_and_never_look_like_checkpoints(tmp_path, monkeypatch):
    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    run = paths.new_run("06_reliable", "litter")
    (run.checkpoint_dir / ".best.keras.tmp-abcd1234.keras").write_bytes(b"")  # what older versions left
    (run.checkpoint_dir / ".best.keras.tmp-efgh5678").mkdir()  # what a kill leaves now
    (run.checkpoint_dir / ".best.keras.tmp-efgh5678" / "best.keras").write_bytes(b"PK\x03\x04 half")
    (run.checkpoint_dir / "backup").mkdir()
    (run.checkpoint_dir / "backup" / ".latest.weights.h5.tmp-x1").mkdir()
    x, y = resume_demo.demo_data(300)
    model = resume_demo.demo_model()
    model.fit(x, y, validation_split=0.2, epochs=2, verbose=0, callbacks=resume.resumable_callbacks(run))
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["best.keras", "finished.weights.h5"]
    assert [p.name for p in run.checkpoint_dir.glob("*.keras")] == ["best.keras"]


def test_early_stopping_run_resumed_after_it_stopped_does_not_train_on(tmp_path, monkeypatch):
    """Killed after early stopping decided to stop, before the finish: the restart must not train on."""
    import shutil

    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("KERASLAB_LOGS_DIR", str(tmp_path / "logs"))
    x, y = resume_demo.demo_data(600)

    class Stall(keras.callbacks.Callback):  # val_loss stops improving after epoch 2: early stopping after epoch 4
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = 1.0 - 0.1 * min(epoch, 1)

    class Crash(keras.callbacks.Callback):  # after the backup of the stopping epoch, before the finish
        def on_epoch_end(self, epoch, logs=None):
            if self.model.stop_training:
                raise KeyboardInterrupt("killed")

    def fit(crash=False):
        keras.utils.set_random_seed(3)
        model = resume_demo.demo_model()
        run = paths.new_run("06_reliable", "es-stop", fresh=False)
        cbs = [Stall(), *resume.resumable_callbacks(run, patience=2, tensorboard=False)]
        if crash:
            cbs.append(Crash())
        model.fit(x, y, validation_split=0.2, epochs=10, verbose=0, shuffle=False, callbacks=cbs)
        return model, cbs[-1], run

    with pytest.raises(KeyboardInterrupt):
        fit(crash=True)
    resumed, backup, run = fit()
    assert backup.resumed_from_epoch == 4 and backup.epochs_done == 4
    assert resume.read_finished(run.checkpoint_dir)["stopped_early"] is True
    with open(run.log_dir / "training.csv", newline="") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == [0, 1, 2, 3]
    shutil.rmtree(tmp_path / "checkpoints")  # the uninterrupted run, for comparison
    shutil.rmtree(tmp_path / "logs")
    straight, backup, _ = fit()
    assert backup.epochs_done == 4 and backup.resumed_from_epoch == 0
    for got, want in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_half_committed_backup_is_completed(tmp_path, interrupted, monkeypatch):
    """Killed between the two os.replace calls: new weights, old metadata, pending file present."""
    import json
    import shutil

    shutil.copytree(interrupted, tmp_path, dirs_exist_ok=True)
    folder = tmp_path / "checkpoints" / "06_reliable" / "resume-demo" / "backup"
    meta = json.loads((folder / "training_metadata.json").read_text())
    # simulate: the pending metadata describes the weights now in place, the committed one is stale
    stale = dict(meta, epoch=meta["epoch"] - 1, weights_sha256="0" * 64)
    (folder / "training_metadata.json.pending").write_text(json.dumps(meta))
    (folder / "training_metadata.json").write_text(json.dumps(stale))
    callbacks = None

    def capture(run, **kw):
        nonlocal callbacks
        callbacks = original(run, **kw)
        return callbacks

    original = resume.resumable_callbacks
    monkeypatch.setattr(resume, "resumable_callbacks", capture)
    resume_in_process(tmp_path, monkeypatch)
    assert callbacks[-1].resumed_from_epoch == meta["epoch"]


def test_unbuilt_model_gets_a_clear_error(tmp_path, monkeypatch):
    from keraslab import paths

    monkeypatch.setenv("KERASLAB_CHECKPOINTS_DIR", str(tmp_path))
    model = keras.Sequential([keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    run = paths.new_run("06_reliable", "unbuilt")
    with pytest.raises(ValueError, match=r"needs a built model: call model\.build"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0, callbacks=resume.resumable_callbacks(run))


def test_truncate_csv_keeps_earlier_epochs_and_appends_after(tmp_path):
    from keraslab.resume import _truncate_csv

    path = tmp_path / "training.csv"
    path.write_text("epoch,loss\n0,0.9\n1,0.5\n2,0.4\n3,0.3\n")
    with open(path, "a") as appender:  # CSVLogger holds the file open in append mode
        _truncate_csv(path, keep_below_epoch=2)
        appender.write("2,0.41\n")
    assert path.read_text() == "epoch,loss\n0,0.9\n1,0.5\n2,0.41\n"
    _truncate_csv(path, keep_below_epoch=0)
    assert path.read_text() == "epoch,loss\n"
    _truncate_csv(tmp_path / "missing.csv", keep_below_epoch=1)  # nothing to do
