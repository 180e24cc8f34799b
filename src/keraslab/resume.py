"""Training that resumes after a SIGKILL at any moment, bit for bit (lesson 06's script; too long to inline).

:class:`SafeBackupAndRestore` is ``keras.callbacks.BackupAndRestore`` whose backup is ONE sealed file
(weights, optimizer, and the state Keras forgets), committed by one ``os.replace`` and checked before
it loads; ``training_metadata.json`` beside it keeps Keras's format for people to read.
:class:`AtomicModelCheckpoint` is ``ModelCheckpoint`` writing through ``saving.atomic_path``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import keras

from keraslab import saving
from keraslab.saving import CheckpointError

__all__ = ["AtomicModelCheckpoint", "SafeBackupAndRestore"]
_WEIGHTS, _META, _ATTR = "latest.weights.h5", "training_metadata.json", "keraslab_backup"


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` whose writes are atomic: a kill never truncates the last file. Keras has no public
    hook for *how* a file is written: this overrides the private ``_save_model`` (*when* stays Keras's)."""

    def on_train_begin(self, logs=None):
        saving.refuse_links(self.filepath)
        saving.sweep_temporaries(Path(self.filepath).parent)  # what a killed write left
        super().on_train_begin(logs)

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if self._should_save_model(epoch, batch, logs, filepath):
            (saving.save_weights if self.save_weights_only else saving.save_model)(self.model, filepath)


class SafeBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` (``save_freq="epoch"``) whose backup survives SIGKILL at any moment.

    Args:
        backup_dir: the backup folder (not shared with other callbacks).
        checkpoint: a ``ModelCheckpoint`` whose ``best`` is backed up and restored (keras #17012).
        early_stopping: an ``EarlyStopping`` whose counters (and best weights) are restored.
        csv_log: a ``CSVLogger(append=True)`` file whose rows of replayed epochs are cut on resume.
        delete_checkpoint: as in Keras; ``False`` keeps the last backup, so a rerun of a finished
            run restores its final weights and trains nothing.

    Put it last in ``callbacks=[...]``: it saves their end-of-epoch state and restores theirs after
    they reset in ``on_train_begin``. ``resumed_from_epoch`` says how many epochs were already done,
    ``backed_up_epoch`` how many the backup holds now. A symbolic link as the folder, its files or the log is
    refused (CheckpointError) here, at the start of training and before each save and cleanup.
    """

    def __init__(self, backup_dir, *, checkpoint=None, early_stopping=None, csv_log=None, delete_checkpoint=True):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self.folder, self.checkpoint, self.early_stopping = Path(backup_dir), checkpoint, early_stopping
        self.csv_log = Path(csv_log) if csv_log else None
        self.resumed_from_epoch = self.backed_up_epoch = 0
        self._refuse_links()

    def _refuse_links(self):
        saving.refuse_links(self.folder, self.folder / _WEIGHTS, self.folder / _META, *filter(None, [self.csv_log]))

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("SafeBackupAndRestore needs a built model: start it with keras.Input or call "
                             "model.build(input_shape) before fit(), so there are weights to restore into.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self._refuse_links()
        state = self._restore() if self.folder.is_dir() else None
        self.resumed_from_epoch = self.backed_up_epoch = state["epoch"] if state else 0
        if state:
            self.model._initial_epoch = self.params["epochs"] if state["stopped"] else state["epoch"]  # as Keras does
            if self.checkpoint is not None and state.get("checkpoint_best") is not None:
                self.checkpoint.best = state["checkpoint_best"]
            es = self.early_stopping
            if es is not None and "wait" in state:
                es.wait, es.best, es.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if self.csv_log is not None and self.csv_log.exists():
            _cut_csv(self.csv_log, self.resumed_from_epoch)

    def _restore(self) -> dict | None:
        saving.sweep_temporaries(self.folder)
        weights = self.folder / _WEIGHTS
        if not weights.exists():  # never backed up, or a cleanup removed the weights first
            if (self.folder / _META).exists():
                print(f"{self.folder}: {_META} without {_WEIGHTS} (a cleanup was interrupted); training starts "
                      "over from epoch 0.", flush=True)
                (self.folder / _META).unlink()
            return None
        try:
            if saving.verify_digest(saving.check_checkpoint(weights)) != "verified":  # a backup is always sealed
                raise CheckpointError(f"{weights}: no keraslab digest: truncated, or not written by this callback.")
            with h5py.File(weights, "r") as f:
                state = json.loads(f.attrs[_ATTR])
            es = self.early_stopping
            if es is not None and es.restore_best_weights and state.get("best_file"):
                saving.load_weights(self.model, self.folder / state["best_file"])
                es.best_weights = self.model.get_weights()
            self.model.load_weights(weights)
            if es is not None and es.restore_best_weights and state.get("best_file") == "":
                es.best_weights = self.model.get_weights()
        except Exception as exc:
            text = str(exc) if str(weights) in str(exc) else f"{weights}: {exc}"
            raise CheckpointError(f"{text} It is the training backup: delete {self.folder} to start over.") from None
        try:
            stale = saving.read_json(self.folder / _META) != _keras_meta(state)
        except (CheckpointError, OSError):
            stale = True
        if stale:  # a kill between the two commits, or a damaged copy for people: rewrite it
            self._write_meta(state)
        return state

    def on_epoch_end(self, epoch, logs=None):
        state = {"epoch": epoch + 1, "batch": 0, "stopped": bool(self.model.stop_training)}
        if self.checkpoint is not None and self.checkpoint.best is not None:
            state["checkpoint_best"] = float(self.checkpoint.best)
        es = self.early_stopping
        if es is not None:
            state.update(wait=int(es.wait), best=None if es.best is None else float(es.best),
                         best_epoch=int(es.best_epoch), best_file=None)
            if es.restore_best_weights and es.best_weights is not None:
                state["best_file"] = "" if es.best_epoch == epoch else f"best-{es.best_epoch}.weights.h5"
                if state["best_file"] and not (self.folder / state["best_file"]).exists():
                    current = self.model.get_weights()
                    self.model.set_weights(es.best_weights)
                    saving.save_weights(self.model, self.folder / state["best_file"])
                    self.model.set_weights(current)
        # the one commit of the backup
        with saving.atomic_path(self.folder / _WEIGHTS, saving.need_for(self.model)) as tmp:
            self.model.save_weights(tmp)
            with h5py.File(tmp, "r+") as f:
                f.attrs[_ATTR] = json.dumps(state)
        self.backed_up_epoch = state["epoch"]
        self._write_meta(state)
        for old in self.folder.glob("best-*.weights.h5"):
            if old.name != state.get("best_file"):
                old.unlink()

    def _write_meta(self, state: dict) -> None:
        with saving.atomic_path(self.folder / _META) as tmp:
            tmp.write_text(json.dumps(_keras_meta(state)))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self.folder.exists():
            self._refuse_links()
            (self.folder / _WEIGHTS).unlink(missing_ok=True)  # first: without it there is no backup
            shutil.rmtree(self.folder, ignore_errors=True)


def _keras_meta(state: dict) -> dict:
    return {"epoch": state["epoch"], "batch": state["batch"]}


def _cut_csv(path: Path, keep_below: int) -> None:
    """Drop the rows of epochs >= ``keep_below`` in place (CSVLogger appends to this file)."""
    with open(path, "r+", newline="") as f:
        offset = len(f.readline().encode())
        for line in iter(f.readline, ""):
            head = line.split(",", 1)[0].strip('"')
            if not head.isdigit() or int(head) >= keep_below:
                break
            offset += len(line.encode())
        f.truncate(offset)
