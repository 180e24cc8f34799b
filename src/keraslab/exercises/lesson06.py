"""Checkers of lesson 06's exercises (reliable training); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from keraslab.exercises._core import (
    _classification_data,
    _correct,
    _describe,
    _exercise,
    _learner_function,
    _run,
    _Verdict,
    _whole,
    _wrong,
)
from keraslab.i18n import translator

__all__ = ["check_06_resume_epoch", "check_06_early_stop", "check_06_best_so_far", "check_06_resumable_run"]
_ = translator("lesson06")


@_exercise("06.1", "question", "BackupAndRestore: where does the rerun start?")
def check_06_resume_epoch(answer=...):
    """Question: which epoch (1-based, as Keras prints it) does the rerun train first?

    Args:
        answer: a whole number.

    Example::

        exercises.check_06_resume_epoch(resume_epoch)
    """
    epoch = _whole(answer)
    if epoch == 7:
        raise _correct(_("the backup says 6 epochs finished (its \"epoch\": 6 is also the 0-based index of the "
                         "next one), so fit() continues with Epoch 7/10; the half-done epoch 7 is trained again."))
    hints = {1: _("BackupAndRestore finds its backup and restores the weights, the optimizer and the epoch counter."),
             6: _("epoch 6 finished and was backed up: it is not trained again."),
             8: _("epoch 7 was interrupted before its backup: its work is lost.")}
    message = _("the rerun does not start over at epoch {epoch}.") if epoch == 1 else _(
        "the rerun does not start at epoch {epoch}.")
    raise _wrong(message.format(epoch=epoch), hints.get(
        epoch, _("resuming happens at epoch boundaries: after the last epoch that was backed up.")))


@_exercise("06.2", "question", "Plain EarlyStopping after a resume")
def check_06_early_stop(answer=...):
    """Question: after which epoch (0-based, as in the CSV log) does the resumed run stop?

    Args:
        answer: a whole number.

    Example::

        exercises.check_06_early_stop(stop_epoch)
    """
    epoch = _whole(answer)
    if epoch == 7:
        raise _correct(_("plain EarlyStopping starts over on resume: epoch 4 (0.43) is its first and so its best "
                         "value, then epochs 5, 6 and 7 do not improve: it stops after epoch 7, three epochs later "
                         "than the uninterrupted run (after epoch 4: best 0.40 at epoch 1, then 3 epochs without "
                         "improvement)."))
    hints = {4: _("that is when an uninterrupted run stops; what does EarlyStopping remember after a restart?"),
             6: _("patience=3 means three epochs without improvement after the best one."),
             3: _("epoch 3 was already trained before the crash; the rerun starts with epoch 4.")}
    raise _wrong(_("the resumed run does not stop after epoch {epoch}.").format(epoch=epoch),
                 hints.get(epoch, _("EarlyStopping's wait and best are reset by on_train_begin: replay the rule from "
                                    "the first resumed epoch.")))


def _check_best(fn) -> _Verdict:
    hint = _("read the rows with csv.DictReader, take float(row[monitor]); min for mode 'min', max for 'max'; "
             "None when the file does not exist or has no rows.")
    rows = [(0.9, 0.61), (0.5, 0.82), (0.55, 0.80), (0.52, 0.86)]  # (val_loss, val_accuracy)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "training.csv"
        log.write_text("epoch,val_accuracy,val_loss\n" + "".join(f"{i},{a},{v}\n" for i, (v, a) in enumerate(rows)))
        for monitor, mode, want in [("val_loss", "min", 0.5), ("val_accuracy", "max", 0.86)]:
            got = _run(f"`best_so_far(path, {monitor!r}, {mode!r})`", hint, fn, log, monitor, mode)
            if got is None or not np.isclose(float(got), want):
                raise _wrong(_("best_so_far(path, {monitor!r}, {mode!r}) returned {got!r} for a log whose "
                               "{monitor} column is {column}.").format(
                    monitor=monitor, mode=mode, got=got, column=[r[monitor == 'val_accuracy'] for r in rows]), hint)
        got = _run(_("`best_so_far` on a missing file"), hint, fn, Path(tmp) / "missing.csv", "val_loss", "min")
        if got is not None:
            raise _wrong(_("for a log that does not exist yet (a first run) it returned {got!r}, not None.").format(
                got=got), hint)
        log.write_text("epoch,val_loss\n")
        got = _run(_("`best_so_far` on a log with no rows"), hint, fn, log, "val_loss", "min")
        if got is not None:
            raise _wrong(_("for a log with a header and no rows it returned {got!r}, not None.").format(got=got), hint)
    return _correct(_("ModelCheckpoint(..., initial_value_threshold=best_so_far(log, monitor, mode)) now remembers "
                      "the best value across a resume, for either mode."))


@_exercise("06.3", "coding", "The best value so far, from the CSV log")
def check_06_best_so_far(answer=...):
    """Coding: ``best_so_far(csv_path, monitor, mode)``, the value for ``initial_value_threshold``.

    Args:
        answer: the function ``best_so_far``.

    Example::

        exercises.check_06_best_so_far(best_so_far)
    """
    raise _check_best(_learner_function(answer, "best_so_far"))


class _SimulatedKill(Exception):
    """Stands in for SIGKILL in the middle of an epoch."""


def _killable_model(counter: dict, crash_at_step: int | None) -> keras.Model:
    class KillableModel(keras.Sequential):
        def train_step(self, *args):  # (data) on TensorFlow and torch, (state, data) on JAX
            counter["steps"] += 1
            if crash_at_step is not None and counter["steps"] == crash_at_step:
                raise _SimulatedKill(f"killed during training step {crash_at_step}")
            return super().train_step(*args)

    keras.utils.set_random_seed(0)
    model = KillableModel([keras.Input((20,)), keras.layers.Dense(16, activation="relu"),
                           keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", run_eagerly=True)
    return model


def _check_resumable(fn) -> _Verdict:
    hint = _("pass callbacks=[keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)] to "
             "model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0).")
    x, y = _classification_data(200, features=20)
    per_epoch = 5  # 160 training samples in batches of 32
    with tempfile.TemporaryDirectory() as tmp:
        steps = {"steps": 0}
        reference = _killable_model(steps, None)
        _run("`fit_resumably(model, x, y, backup_dir)`", hint, fn, reference, x, y, f"{tmp}/reference")
        if steps["steps"] != 6 * per_epoch:
            raise _wrong(_("an uninterrupted call ran {steps} training steps, not 6 epochs of {per_epoch}.").format(
                steps=steps["steps"], per_epoch=per_epoch), hint)
        steps, crash_at = {"steps": 0}, 3 * per_epoch + 3  # the 3rd batch of epoch 4
        try:
            fn(_killable_model(steps, crash_at), x, y, f"{tmp}/run")
        except _SimulatedKill:
            pass
        except Exception as exc:
            raise _wrong(_("`fit_resumably` raised {error} before the simulated kill.").format(error=_describe(exc)),
                         hint) from None
        for call, want, wrong in [(_("the second `fit_resumably(...)` call"), 3, _(
                "after a kill during epoch 4, the second call trained {epochs:g} epochs, not {want}.")),
                (_("the third `fit_resumably(...)` call"), 0, _(
                    "after the run had finished, the third call trained {epochs:g} epochs, not {want}."))]:
            steps = {"steps": 0}
            resumed = _killable_model(steps, None)
            _run(call, hint, fn, resumed, x, y, f"{tmp}/run")
            if steps["steps"] != want * per_epoch:
                raise _wrong(wrong.format(epochs=steps["steps"] / per_epoch, want=want),
                             hint if want else _("keep the backup when training ends: delete_checkpoint=False."))
        if not all(np.allclose(a, b, rtol=1e-5, atol=1e-6)
                   for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True)):
            raise _wrong(_("the resumed run ended with other weights than an uninterrupted run."), hint)
    return _correct(_("killed during epoch 4, the rerun trained epochs 4-6 only and ended with the uninterrupted "
                      "run's weights; a rerun of the finished run trained nothing."))


@_exercise("06.4", "coding", "Your own BackupAndRestore run")
def check_06_resumable_run(answer=...):
    """Coding: ``fit_resumably(model, x, y, backup_dir)``, a 6-epoch fit that resumes after a kill.

    Args:
        answer: the function ``fit_resumably``.

    Example::

        exercises.check_06_resumable_run(fit_resumably)
    """
    raise _check_resumable(_learner_function(answer, "fit_resumably"))
