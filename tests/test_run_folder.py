"""One trainer per run folder, nothing written outside it, a full disk in words, edited checkpoints refused.

Lesson 06's script (notebooks/scripts/resumable_training.py) runs as two real processes for the lock tests
(through tests/resume_worker.py, which can hold the first trainer after its first epoch), and in this
process for the symlink and disk-full tests (``main`` exits with the sentence, as ``sys.exit`` does).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from keraslab import resume, saving
from keraslab.processes import run_child
from keraslab.saving import CheckpointError

sys.path.insert(0, str(Path(__file__).parent))
from resume_worker import load_script  # noqa: E402

WORKER = Path(__file__).with_name("resume_worker.py")
SCRIPT = load_script()
EPOCHS = 4
REFUSED = "refused: another trainer is using this folder"


def env(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1", **extra}


def spawn(folder: Path, release: Path, *extra: str) -> subprocess.Popen:
    """A trainer that, after its first epoch, waits until ``release`` exists (so it surely holds the folder)."""
    argv = [sys.executable, str(WORKER), "--", "--folder", str(folder), "--epochs", str(EPOCHS), *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(KERASLAB_WAIT_FOR=str(release)))


def wait_for_line(child: subprocess.Popen, prefix: str) -> None:
    for line in child.stdout:
        if line.startswith(prefix):
            return
    raise AssertionError(f"the trainer ended before printing {prefix!r}: {child.stderr.read()[-2000:]}")


def csv_epochs(folder: Path) -> tuple[int, list[int]]:
    """(number of header lines, the epoch of every row) of the run's CSV log."""
    lines = (folder / "training.csv").read_text().splitlines()
    headers = sum(line.startswith("epoch,") for line in lines)
    return headers, [int(line.split(",")[0]) for line in lines if not line.startswith("epoch,")]


@pytest.mark.parametrize("second_starts", ["together", "after-the-first-took-the-lock", "after-epoch-1"])
def test_a_second_trainer_on_the_folder_is_refused_and_the_first_finishes(tmp_path, second_starts):
    folder, release = tmp_path / "run", tmp_path / "release"
    first = spawn(folder, release, "--fresh")
    if second_starts != "together":
        wait_for_line(first, "epoch 1 done" if second_starts == "after-epoch-1" else "epochs already finished")
    second = spawn(folder, release, "--fresh")  # --fresh too: it must delete nothing of the first's
    deadline = time.monotonic() + 300
    while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    loser, winner = (first, second) if first.poll() is not None else (second, first)
    loser_out, loser_err = loser.communicate(timeout=60)
    release.touch()
    winner_out, winner_err = winner.communicate(timeout=300)
    assert loser.returncode == 1, (loser_out, loser_err[-2000:])
    assert f"{folder}: {REFUSED}" in loser_err and f"pid {winner.pid}," in loser_err, loser_err[-2000:]
    assert "Traceback" not in loser_err and "epochs already finished" not in loser_out
    assert winner.returncode == 0, winner_err[-2000:]
    assert f"finished {EPOCHS} epochs" in winner_out
    assert csv_epochs(folder) == (1, list(range(EPOCHS)))


def test_a_killed_trainer_never_blocks_a_restart(tmp_path):
    folder = tmp_path / "run"
    argv = [sys.executable, str(WORKER), "--", "--folder", str(folder), "--epochs", str(EPOCHS)]
    killed = run_child([*argv, "--pause-after-epoch", "1"], env=env(), kill_at="epoch 1 done", timeout=300)
    assert killed.killed and f"pid {killed_pid(folder)}," in (folder / "trainer.lock").read_text()
    rerun = run_child(argv, env=env(), timeout=300)
    assert rerun.ok, rerun.stderr_tail[-2000:]
    assert "epochs already finished: 1" in rerun.lines and csv_epochs(folder) == (1, list(range(EPOCHS)))


def killed_pid(folder: Path) -> int:
    return int((folder / "trainer.lock").read_text().split(",")[0].split()[1])


def run_script(folder: Path, *extra: str, epochs: int = EPOCHS) -> str:
    """Run the script in this process; '' when it finishes, else the sentence it exits with."""
    try:
        SCRIPT.main(["--folder", str(folder), "--epochs", str(epochs), *extra])
    except SystemExit as exit:
        assert exit.code not in (0, None)
        return str(exit.code)
    return ""


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def outside(tmp_path):
    """A folder outside the run, with files a planted link would reach."""
    other = tmp_path / "outside"
    other.mkdir()
    (other / "training_metadata.json").write_text('{"epoch": 7, "batch": 0}')
    (other / "latest.weights.h5").write_bytes(b"someone else's file")
    (other / "notes.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    return other


@pytest.mark.parametrize("plant", ["backup", "training.csv", "best.keras", "trainer.lock", "run folder"])
def test_a_planted_link_is_refused_and_nothing_outside_changes(tmp_path, outside, plant):
    folder = tmp_path / "run"
    folder.mkdir()
    target = {"backup": outside, "training.csv": outside / "notes.csv", "best.keras": outside / "best.keras",
              "trainer.lock": outside / "notes.csv"}.get(plant, outside)
    link = tmp_path / "run-link" if plant == "run folder" else folder / plant
    link.symlink_to(target)
    before = snapshot(outside)
    message = run_script(link) if plant == "run folder" else run_script(folder)
    assert f"{link}: refused: a symbolic link" in message, message
    assert "Traceback" not in message and snapshot(outside) == before and link.is_symlink()
    if plant == "run folder":  # --fresh would have emptied the folder the link leads to
        assert f"{link}: refused: a symbolic link" in run_script(link, "--fresh") and snapshot(outside) == before


def test_fresh_removes_a_planted_link_but_not_what_it_leads_to(tmp_path, outside):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "backup").symlink_to(outside)
    before = snapshot(outside)
    assert run_script(folder, "--fresh") == ""
    assert snapshot(outside) == before and not (folder / "backup").is_symlink()


def test_a_link_swapped_in_after_the_start_is_refused_before_the_cleanup(tmp_path, outside):
    backup_dir = tmp_path / "run" / "backup"
    backup_dir.mkdir(parents=True)
    backup = resume.SafeBackupAndRestore(backup_dir, delete_checkpoint=True)
    backup_dir.rmdir()
    backup_dir.symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(CheckpointError, match="refused: a symbolic link"):
        backup.on_train_end()
    with pytest.raises(CheckpointError, match="refused: a symbolic link"):
        saving.sweep_temporaries(backup_dir)
    with pytest.raises(CheckpointError, match="refused: a symbolic link"):
        with saving.atomic_path(backup_dir / "latest.weights.h5") as tmp:
            tmp.write_bytes(b"never written")
    assert snapshot(outside) == before


def final_weights(folder: Path) -> list[np.ndarray]:
    return saving.load_weights(SCRIPT.get_model(), folder / "final.weights.h5").get_weights()


def test_a_full_disk_is_a_sentence_and_the_rerun_resumes_exactly(tmp_path, monkeypatch, capsys):
    """Injected ENOSPC in the third backup's write (as h5py raises it), then a rerun on a disk with room."""
    run_script(tmp_path / "reference", epochs=5)
    folder, writes, save_weights = tmp_path / "run", [0], keras.Model.save_weights

    def full_disk(model, path, *args, **kwargs):
        if Path(path).name == "latest.weights.h5":
            writes[0] += 1
            if writes[0] == 3:
                Path(path).write_bytes(b"\x89HDF\r\n\x1a\n and then the disk was full")
                raise OSError(errno.ENOSPC, "Can't close file (file write failed: errno = 28, error message = "
                                            "'No space left on device')")
        return save_weights(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    message = run_script(folder, epochs=5)
    monkeypatch.undo()
    assert f"{folder / 'backup'}: the disk is full (No space left on device): latest.weights.h5 was not saved" \
        in message and f"Kept: the backup of epoch 2 in {folder / 'backup'}" in message, message
    assert not [p for p in folder.rglob("*") if ".tmp-" in p.name]  # the temporary file was removed
    kept = SCRIPT.get_model()
    kept.optimizer.build(kept.trainable_variables)
    saving.load_weights(kept, folder / "backup" / "latest.weights.h5")  # the last good checkpoint loads
    capsys.readouterr()
    assert run_script(folder, epochs=5) == ""
    assert "epochs already finished: 2" in capsys.readouterr().out
    assert csv_epochs(folder) == (1, list(range(5)))
    for got, want in zip(final_weights(folder), final_weights(tmp_path / "reference"), strict=True):
        np.testing.assert_array_equal(got, want)


def test_too_little_free_space_is_refused_before_the_write(tmp_path, monkeypatch):
    """The check against the model's size keeps h5py away from ENOSPC (its crash path)."""
    monkeypatch.setattr(saving.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 30, 4096))
    folder = tmp_path / "run"
    message = run_script(folder)
    assert message.startswith(f"{folder}: the disk is full") and "there was no best.keras before" in message
    assert "Kept" not in message and not [p for p in folder.rglob("*") if ".tmp-" in p.name]


def test_a_real_full_tmpfs_exits_with_the_sentence(tmp_path):
    """A 200 KiB tmpfs in a user namespace (no root needed where the kernel allows it)."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode:
        pytest.skip("unshare -rm (user and mount namespaces) is not available here: the injected ENOSPC test covers it")
    mount, copy = tmp_path / "mnt", tmp_path / "copy"
    mount.mkdir()
    shell = (f'mount -t tmpfs -o size=200k tmpfs "{mount}" || exit 99; "{sys.executable}" "{WORKER}" -- '
             f'--folder "{mount}/run" --epochs 6; status=$?; cp -a "{mount}/run" "{copy}"; exit $status')
    ran = subprocess.run(["unshare", "-rm", "sh", "-c", shell], capture_output=True, text=True, env=env(),
                         timeout=300)
    if ran.returncode == 99:
        pytest.skip(f"cannot mount a tmpfs here: {ran.stderr[-300:]}")
    assert ran.returncode == 1, ran.stderr[-3000:]
    assert ": the disk is full (No space left on device)" in ran.stderr and "Traceback" not in ran.stderr
    assert "Segmentation fault" not in ran.stderr and not [p for p in copy.rglob("*") if ".tmp-" in p.name]
    kept = SCRIPT.get_model()
    kept.optimizer.build(kept.trainable_variables)
    saving.load_weights(kept, copy / "backup" / "latest.weights.h5")
    assert run_script(copy, epochs=6) == ""  # on a disk with room, the rerun resumes and finishes


def test_an_edited_checkpoint_is_refused_in_words(tmp_path):
    model = SCRIPT.get_model()
    weights = saving.save_weights(model, tmp_path / "final.weights.h5")
    with h5py.File(weights, "r+") as f:  # an edit in place: h5py rewrites the file, the digest is gone
        kernel = f[f"layers/{next(iter(f['layers']))}/vars/0"]
        kernel[0, 0] = kernel[0, 0] + 1.0
    with pytest.raises(CheckpointError, match="missing: the file was cut short or changed after it was saved"):
        saving.load_weights(SCRIPT.get_model(), weights)
    whole = saving.save_model(model, tmp_path / "best.keras")
    with zipfile.ZipFile(whole) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(whole, "w") as archive:  # re-zipped: the same members, no digest
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(CheckpointError, match=r"load it knowingly with plain Keras \(keras.saving.load_model"):
        saving.load_model(whole)
    keras.saving.load_model(whole)  # what the message offers still works
    model.save(tmp_path / "plain.keras")  # a file keraslab never sealed here stays "unverified", and loads
    assert saving.verify_digest(tmp_path / "plain.keras") == "unverified"
