"""Training that survives interruption: resume from the last finished epoch, or return a finished run's result.

:func:`resumable_callbacks` puts together, for one :class:`~keraslab.paths.Run`:

- an atomic best-model checkpoint (:class:`~keraslab.callbacks.AtomicModelCheckpoint`);
- optionally ``keras.callbacks.EarlyStopping`` (with ``restore_best_weights=True``);
- a ``CSVLogger`` on ``run.log_dir / "training.csv"`` with ``append=True`` (the log continues across restarts);
- ``TensorBoard``;
- ``TerminateOnNaN(raise_error=True)``: a NaN loss stops training with an
  error *before* any epoch-end checkpoint can save NaN weights;
- :class:`ResumableBackup`, Keras's ``BackupAndRestore`` with an atomic,
  checked backup that also carries the state Keras does not restore, and a
  *finished* marker.

Rerun the same cell or script after a crash, a kill or a closed laptop, and
``fit`` continues at the first unfinished epoch. Rerun it after the run
finished and ``fit`` trains nothing: it prints that the run is finished and
restores the final weights (``finished.weights.h5``), so the code after
``fit`` sees the same model as after the first, complete run. A small program
that trains this way, for a lesson or a test to kill and rerun, is
:mod:`keraslab.resume_demo`.

What Keras restores and what this adds:

| state                                  | BackupAndRestore | ResumableBackup |
|----------------------------------------|------------------|-----------------|
| model weights, optimizer state, epoch  | yes              | yes             |
| backup written atomically              | no (in place)    | yes (``os.replace``, SHA-256) |
| ``ModelCheckpoint.best``               | no               | yes             |
| ``EarlyStopping`` wait/best/best weights, a stop it decided | no | yes |
| CSV rows of a replayed epoch           | duplicated       | removed         |
| a rerun after the run finished         | trains again     | restores the final weights, trains nothing |
| a kill during the end-of-training cleanup | may need a human | restarts by itself |

Example::

    model = get_compiled_model()
    model.build((None, 784))                       # BackupAndRestore needs a built model
    run = paths.new_run("06_reliable", "mnist", fresh=False)   # keep the last attempt
    model.fit(x, y, epochs=10, validation_split=0.2,
              callbacks=resumable_callbacks(run, monitor="val_loss"))
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

from keraslab import callbacks as kl_callbacks
from keraslab import integrity, saving
from keraslab.paths import Run
from keraslab.saving import CheckpointError, pause_point

__all__ = ["ResumableBackup", "resumable_callbacks", "read_finished", "FINISHED"]

_WEIGHTS = "latest.weights.h5"
_METADATA = "training_metadata.json"
_PENDING = "training_metadata.json.pending"
_ES_BEST = "early_stopping_best.weights.h5"
FINISHED = "finished.weights.h5"
_BACKUP_ATTR = "keraslab_backup"
_FINISHED_ATTR = "keraslab_finished"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _embed(path: Path, attr: str, metadata: dict) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        f.attrs[attr] = json.dumps(metadata)


def _embedded(path: Path, attr: str) -> dict | None:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get(attr)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc}); the file is corrupt") from None
    if raw is None:
        return None
    return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))


def read_finished(path: str | os.PathLike[str]) -> dict | None:
    """What a finished run recorded: ``{"epochs_done", "epochs_requested", "stopped_early"}``.

    Args:
        path: the run's ``finished.weights.h5`` (or its checkpoint folder).

    Returns:
        The record, or ``None`` when the run has not finished.

    Raises:
        CheckpointError: the file exists but is corrupt (its digest does not match).

    Example::

        resume.read_finished(run.checkpoint_dir)   # -> {"epochs_done": 12, ...} or None
    """
    path = Path(path)
    if path.is_dir():
        path = path / FINISHED
    if not path.exists():
        return None
    saving.verify_digest(path)
    return _embedded(path, _FINISHED_ATTR)


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with an atomic, verified backup and a finished marker.

    It backs up at the end of every epoch, as Keras's callback does with
    ``save_freq="epoch"``, but writes, reads and cleans up the backup so that a
    SIGKILL at any instant leaves a state the next start resumes from by itself:

    1. each epoch, the weights (with the metadata embedded and a SHA-256 sealed
       inside, :mod:`keraslab.integrity`) go to a temporary folder, then a
       *pending* metadata file naming their SHA-256 is written, then both are
       moved into place with ``os.replace``; the next start finishes or
       discards a half-done commit;
    2. the metadata also carries ``ModelCheckpoint.best``, the
       ``EarlyStopping`` counters (its best weights: in the backup itself when
       the best epoch is the last one, else in ``early_stopping_best.weights.h5``)
       and whether early stopping ended training, all restored on resume;
    3. a replayed epoch's rows are cut from the CSV log;
    4. when training ends, the final weights are committed as
       ``finished.weights.h5`` (one ``os.replace``) *before* the backup is
       removed; a later start finds it, restores those weights and trains
       nothing (see :attr:`already_finished`);
    5. temporary folders left by killed writes are swept at the start;
    6. a corrupt backup raises :class:`~keraslab.saving.CheckpointError`
       naming the file, instead of a ``JSONDecodeError``.

    The backup folder keeps Keras's layout (``latest.weights.h5`` and
    ``training_metadata.json`` with ``epoch`` and ``batch``).

    **Keras hooks.** It overrides only public callback hooks: ``on_train_begin``
    (restore), ``on_epoch_end`` (back up) and ``on_train_end`` (finish), and
    keeps its own epoch count; Keras's private ``_save_model``, ``_load_model``,
    ``_current_epoch`` and ``_last_batch_seen`` are neither overridden nor read.
    One private attribute remains: it sets ``model._initial_epoch``, the epoch
    ``fit()`` starts at, because Keras offers no public way for a callback to
    move the start of a ``fit`` already under way (Keras's own
    ``BackupAndRestore`` sets the same attribute).

    Args:
        backup_dir: the folder for the backup (kept until training finishes).
        checkpoint: a ``ModelCheckpoint`` whose ``best`` to carry over.
        early_stopping: an ``EarlyStopping`` whose counters to carry over.
        csv_log: the ``CSVLogger`` file whose replayed rows to drop.
        delete_checkpoint: remove the backup when training ends normally.
        finished_path: where the finished marker goes; default
            ``<backup_dir>/../finished.weights.h5``.

    Attributes:
        resumed_from_epoch: the epoch the last ``fit`` started at (0: from scratch).
        already_finished: ``True`` when the last ``fit`` found a finished run
            and only restored its final weights.
        epochs_done: epochs completed by the run (all attempts together).

    Put it *after* those callbacks in ``callbacks=[...]``: it must see their
    end-of-epoch state, and restore theirs after they reset at train start.

    Example::

        backup = resume.ResumableBackup(run.checkpoint_dir / "backup")
        model.fit(x, y, epochs=10, callbacks=[backup])
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        *,
        checkpoint: keras.callbacks.ModelCheckpoint | None = None,
        early_stopping: keras.callbacks.EarlyStopping | None = None,
        csv_log: str | os.PathLike[str] | None = None,
        delete_checkpoint: bool = True,
        finished_path: str | os.PathLike[str] | None = None,
    ):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self.folder = Path(backup_dir)
        self.finished_path = Path(finished_path) if finished_path is not None else self.folder.parent / FINISHED
        self.checkpoint = checkpoint
        self.early_stopping = early_stopping
        self.csv_log = Path(csv_log) if csv_log is not None else None
        self.resumed_from_epoch = 0
        self.already_finished = False
        self.epochs_done = 0
        self._stopped = False
        self._es_file_epoch: int | None = None

    # ------------------------------------------------------------ public hooks
    def on_train_begin(self, logs=None):
        """Sweep temporaries, then restore the finished run, or the backup, or start from scratch."""
        if not self.model.built:
            raise ValueError(
                "ResumableBackup needs a built model: call model.build(input_shape) or model(x[:1]) "
                "before fit(), so there are weights to restore into."
            )
        self.already_finished = False
        self._es_file_epoch = None
        for folder in {self.folder, self.folder.parent, self.finished_path.parent}:
            saving.sweep_temporaries(folder)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        if self.finished_path.exists():
            self._restore_finished()
        else:
            self._restore_backup()

    def on_epoch_end(self, epoch, logs=None):
        """Commit the backup of the epoch that just ended (``epoch`` is 0-based)."""
        self._commit_backup(epoch + 1)

    def on_train_end(self, logs=None):
        """Commit ``finished.weights.h5``, then remove the backup (any order of what follows is safe)."""
        if self.already_finished:
            return
        record = {
            "epochs_done": int(self.epochs_done),
            "epochs_requested": int((self.params or {}).get("epochs") or self.epochs_done),
            "stopped_early": bool(self._stopped or getattr(self.model, "stop_training", False)),
        }
        with saving.atomic_path(self.finished_path) as tmp:  # the final weights, committed in one os.replace
            self.model.save_weights(str(tmp))
            _embed(tmp, _FINISHED_ATTR, record)
        pause_point("finish-committed")
        if self.delete_checkpoint and self.folder.exists():
            # Any order is safe now: with the finished marker committed, a restart ignores what is left here.
            (self.folder / _METADATA).unlink(missing_ok=True)
            pause_point("cleanup-metadata-deleted")
            shutil.rmtree(self.folder, ignore_errors=True)
        pause_point("cleanup-done")

    # ------------------------------------------------------------------ write
    def _commit_backup(self, epochs: int) -> None:
        """Back up the state after ``epochs`` finished epochs, in two atomic commit points."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stopped = bool(getattr(self.model, "stop_training", False))
        metadata = self._backup_metadata(epochs)
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{_WEIGHTS}.tmp-", dir=self.folder))
        try:
            staged = tmp_dir / _WEIGHTS
            self.model.save_weights(str(staged))
            _embed(staged, _BACKUP_ATTR, metadata)
            integrity.seal(staged)
            with open(staged, "rb+") as f:
                os.fsync(f.fileno())
            pause_point("backup-weights-staged")
            metadata["weights_sha256"] = _sha256(staged)
            saving.atomic_write_text(self.folder / _PENDING, json.dumps(metadata))
            pause_point("backup-pending-written")
            os.replace(staged, self.folder / _WEIGHTS)  # commit point 1
            pause_point("backup-weights-committed")
            os.replace(self.folder / _PENDING, self.folder / _METADATA)  # commit point 2
            pause_point("backup-committed")
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        self.epochs_done = epochs

    def _backup_metadata(self, epochs: int) -> dict:
        """Keras's ``epoch``/``batch`` record, plus the state Keras does not restore."""
        metadata: dict = {"epoch": epochs, "batch": 0}
        es_state = self._early_stopping_state(last_epoch=epochs - 1)
        if es_state is not None:
            metadata["early_stopping"] = es_state
        if self.checkpoint is not None and self.checkpoint.best is not None:
            metadata["checkpoint_best"] = float(self.checkpoint.best)
        if self._stopped:
            metadata["stopped"] = True
        return metadata

    def _early_stopping_state(self, last_epoch: int) -> dict | None:
        es = self.early_stopping
        if es is None:
            return None
        state = {
            "wait": int(es.wait),
            "best": None if es.best is None else float(es.best),
            "best_epoch": int(es.best_epoch),
            "best_source": None,
        }
        if es.restore_best_weights and es.best_weights is not None:
            if es.best_epoch == last_epoch:
                state["best_source"] = "latest"  # the best weights are this backup's weights
            else:
                if self._es_file_epoch != es.best_epoch:
                    # Safe to overwrite: the committed backup does not rely on this file (see the class docstring).
                    current = self.model.get_weights()
                    self.model.set_weights(es.best_weights)
                    try:
                        saving.save_weights(self.model, self.folder / _ES_BEST)
                    finally:
                        self.model.set_weights(current)
                    self._es_file_epoch = es.best_epoch
                state["best_source"] = "file"
                state["best_sha256"] = _sha256(self.folder / _ES_BEST)
        return state

    # ------------------------------------------------------------------- read
    def _finish_pending_commit(self) -> None:
        """A pending metadata file means a commit was cut short: finish it, or discard it."""
        weights, meta, pending = self.folder / _WEIGHTS, self.folder / _METADATA, self.folder / _PENDING
        if not pending.exists():
            return
        try:
            pending_meta = saving.read_json(pending)
        except CheckpointError:
            pending_meta = {}
        if weights.exists() and pending_meta.get("weights_sha256") == _sha256(weights):
            os.replace(pending, meta)  # killed between the two commits: finish the commit
        else:  # killed before the weights were committed: the old backup stands
            pending.unlink()

    def _verified_metadata(self) -> dict | None:
        """The committed backup's metadata, checked against its weights (``None``: start from scratch)."""
        self._finish_pending_commit()
        weights, meta = self.folder / _WEIGHTS, self.folder / _METADATA
        if not weights.exists():
            if meta.exists():
                # Only an interrupted cleanup (or a deleted weights file) leaves this; the weights are gone.
                print(
                    f"keraslab: {meta} has no {_WEIGHTS} beside it (a cleanup was interrupted, or the file was "
                    "deleted); that backup cannot be resumed, so training starts over from epoch 0.",
                    flush=True,
                )
                meta.unlink()
            return None
        actual = _sha256(weights)
        metadata = saving.read_json(meta) if meta.exists() else None
        if metadata is not None and metadata.get("weights_sha256") not in (None, actual):
            raise CheckpointError(
                f"{weights}: does not match {meta} (SHA-256 differs); the backup is corrupt. "
                f"Delete {self.folder} to start over."
            )
        try:
            saving.verify_digest(weights)
            saving.check_checkpoint(weights)
        except CheckpointError as exc:
            raise CheckpointError(f"{exc} It is the training backup: delete {self.folder} to start over.") from None
        if metadata is None:  # a weights file carries its own metadata: rebuild the JSON from it
            metadata = self._rebuild_metadata(weights, actual)
        return metadata

    def _rebuild_metadata(self, weights: Path, sha256: str) -> dict:
        embedded = _embedded(weights, _BACKUP_ATTR)
        if embedded is None:
            raise CheckpointError(f"{weights}: backup weights without {_METADATA}; delete {self.folder} to start over")
        metadata = {**embedded, "weights_sha256": sha256}
        saving.atomic_write_text(self.folder / _METADATA, json.dumps(metadata))
        return metadata

    def _restore_finished(self) -> None:
        record = read_finished(self.finished_path) or {}
        done = int(record.get("epochs_done", 0))
        requested = int(record.get("epochs_requested", done))
        asked = int((self.params or {}).get("epochs") or requested)
        if asked > requested and not record.get("stopped_early"):
            raise CheckpointError(
                f"{self.finished_path}: this run already finished its {requested} epochs; this fit asks for {asked}. "
                "To train longer or again, start a fresh run (paths.new_run(..., fresh=True)); the finished "
                "result stays in this file until then."
            )
        saving.load_weights(self.model, self.finished_path)
        self.model._initial_epoch = max(asked, done)  # fit() then runs no epoch at all
        self.already_finished = True
        self.resumed_from_epoch = self.epochs_done = done
        how = ", stopped early" if record.get("stopped_early") else ""
        print(
            f"keraslab: this run already finished ({done} epochs{how}); restored its final weights from "
            f"{self.finished_path} and trained nothing. Start a fresh run to train again.",
            flush=True,
        )
        if self.folder.exists():  # a cleanup that was interrupted after the finished marker
            shutil.rmtree(self.folder, ignore_errors=True)

    def _restore_backup(self) -> None:
        metadata = self._verified_metadata()
        if metadata is None:  # a first start, or killed before the first backup
            self.resumed_from_epoch = self.epochs_done = 0
            if self.csv_log is not None:
                _truncate_csv(self.csv_log, keep_below_epoch=0)
            return
        self._restore_weights(metadata.get("early_stopping") or {})
        self.resumed_from_epoch = self.epochs_done = int(metadata["epoch"])
        self.model._initial_epoch = self.resumed_from_epoch
        self._stopped = bool(metadata.get("stopped"))
        if self._stopped:  # early stopping had ended training: do not train the remaining epochs
            self.model._initial_epoch = max(self.resumed_from_epoch, int((self.params or {}).get("epochs") or 0))
        self._restore_callback_state(metadata)
        if self.csv_log is not None:
            _truncate_csv(self.csv_log, keep_below_epoch=self.resumed_from_epoch)

    def _restore_weights(self, es_state: dict) -> None:
        """Load the backup's weights (and early stopping's best weights) into the model."""
        es = self.early_stopping
        keep_best = es is not None and es.restore_best_weights
        try:
            if keep_best and es_state.get("best_source") == "file":
                best_file = self.folder / _ES_BEST
                if not best_file.exists() or _sha256(best_file) != es_state.get("best_sha256"):
                    raise CheckpointError(
                        f"{best_file}: missing or not the file {self.folder / _METADATA} names (SHA-256 differs); "
                        f"the backup is corrupt. Delete {self.folder} to start over."
                    )
                saving.load_weights(self.model, best_file)
                es.best_weights = self.model.get_weights()
                self._es_file_epoch = int(es_state["best_epoch"])
            self.model.load_weights(self.folder / _WEIGHTS)
            if keep_best and es_state.get("best_source") == "latest":
                es.best_weights = self.model.get_weights()
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(
                f"{self.folder / _WEIGHTS}: the backup cannot be loaded into this model ({type(exc).__name__}: "
                f"{exc}). Was the model changed? Delete {self.folder} to start over."
            ) from None

    def _restore_callback_state(self, metadata: dict) -> None:
        """Give ``EarlyStopping`` its counters and ``ModelCheckpoint`` its best value back."""
        state = metadata.get("early_stopping") or {}
        if self.early_stopping is not None and state:
            es = self.early_stopping
            es.wait, es.best, es.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if self.checkpoint is not None and "checkpoint_best" in metadata:
            self.checkpoint.best = metadata["checkpoint_best"]


def _truncate_csv(path: Path, keep_below_epoch: int) -> None:
    """Drop rows for epochs >= ``keep_below_epoch`` in place (CSVLogger appends with O_APPEND)."""
    if not path.exists():
        return
    with open(path, "r+", newline="") as f:
        offset = 0
        header = f.readline()
        offset += len(header.encode())
        if not header:
            return
        while True:
            line = f.readline()
            if not line:
                return
            first = line.split(",", 1)[0].strip().strip('"')
            try:
                epoch = int(float(first))
            except ValueError:
                epoch = keep_below_epoch  # unreadable row: cut from here
            if epoch >= keep_below_epoch:
                f.truncate(offset)
                return
            offset += len(line.encode())


def resumable_callbacks(
    run: Run,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    checkpoint_name: str = "best.keras",
    patience: int | None = None,
    tensorboard: bool = True,
) -> list[keras.callbacks.Callback]:
    """Callbacks for training that resumes after an interruption.

    Args:
        run: the run's folders; make it with ``paths.new_run(..., fresh=False)``
            so a rerun finds the previous attempt's backup.
        monitor / mode: what the best checkpoint (and early stopping) watch.
        checkpoint_name: best-model file in ``run.checkpoint_dir``.
        patience: add ``keras.callbacks.EarlyStopping(monitor, patience=patience, mode=mode,
            restore_best_weights=True)`` when given (its counters and best weights survive a resume).
        tensorboard: add a ``TensorBoard`` callback on ``run.log_dir``.

    Returns:
        The list for ``fit(callbacks=...)``; the :class:`ResumableBackup` is last.
        Its ``resumed_from_epoch`` says where the last ``fit`` started.

    Example::

        run = paths.new_run("06_reliable", "mnist", fresh=False)
        model.fit(x, y, epochs=10, validation_split=0.2, callbacks=resume.resumable_callbacks(run, patience=3))
    """
    out: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN(raise_error=True)]
    ckpt = kl_callbacks.checkpoint(run, checkpoint_name, monitor=monitor, mode=mode)
    out.append(ckpt)
    es = None
    if patience is not None:
        es = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, mode=mode, restore_best_weights=True)
        out.append(es)
    csv_log = run.log_dir / "training.csv"
    out.append(keras.callbacks.CSVLogger(str(csv_log), append=True))
    if tensorboard:
        out.append(keras.callbacks.TensorBoard(log_dir=str(run.log_dir)))
    out.append(ResumableBackup(run.checkpoint_dir / "backup", checkpoint=ckpt, early_stopping=es, csv_log=csv_log))
    return out
