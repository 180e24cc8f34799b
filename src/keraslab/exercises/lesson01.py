"""Checkers of lesson 01's exercises (iris checkpoints); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import keras

from keraslab.exercises._core import (
    _correct,
    _epoch_logs,
    _exercise,
    _fmt,
    _learner_class,
    _learner_function,
    _marker,
    _returned,
    _run,
    _script,
    _tiny_model,
    _unsolved,
    _whole,
    _wrong,
)
from keraslab.i18n import translator

__all__ = ["check_01_stop_epoch", "check_01_checkpoint_files", "check_01_stop_at_accuracy", "check_01_best_checkpoint"]
_ = translator("lesson01")


@_exercise("01.1", "question", "After which epoch does EarlyStopping(patience=3) stop?")
def check_01_stop_epoch(answer=...):
    """Question: ``EarlyStopping(monitor="val_accuracy", patience=3)`` sees val_accuracy 0.70, 0.80,
    0.85, 0.85, 0.83, 0.84, 0.90, 0.92 (epochs 1-8). After which epoch (1-based) does training stop?

    Args:
        answer: a whole number, the 1-based epoch after which training stops.

    Example: ``exercises.check_01_stop_epoch(answer)`` prints the verdict.
    """
    epoch = _whole(answer)
    if epoch == 6:
        raise _correct(_("the best value, 0.85, comes at epoch 3; epochs 4, 5 and 6 do not beat it (0.85 is not more "
                         "than 0.85), so after epoch 6 the patience of 3 is used up. stopped_epoch is 5 (0-based)."))
    hints = {7: _("you counted the second 0.85 (epoch 4) as an improvement: a value must be strictly better than the "
                  "best so far (by more than min_delta=0) to count."),
             5: _("5 is EarlyStopping.stopped_epoch, which counts from 0. The question asks for the epoch as the "
                  "training log prints it (Epoch 1/100 is the first)."),
             3: _("epoch 3 is the best epoch. Training goes on until `patience` epochs in a row have not improved.")}
    raise _wrong(_("training does not stop after epoch {epoch}.").format(epoch=epoch),
                 hints.get(epoch, _("find the best epoch, then count 3 epochs in a row that do not beat it.")))


@_exercise("01.2", "question", "Which checkpoint files does save_best_only write?")
def check_01_checkpoint_files(answer=...):
    """Question: ``ModelCheckpoint("model-{epoch:02d}-{val_accuracy:.4f}.keras", monitor="val_accuracy",
    save_best_only=True)`` sees val_accuracy 0.7083, 0.7083, 0.9167, 0.8750, 1.0000. Which files does it write?

    Args:
        answer: a list of file names (strings).

    Example: ``exercises.check_01_checkpoint_files(answer)`` prints the verdict.
    """
    if answer is ...:
        raise _unsolved()
    if isinstance(answer, str) or not isinstance(answer, (list, tuple, set)):
        raise _wrong(_("your answer is {answer!r}, not a list of file names.").format(answer=answer),
                     _("write a list of strings."))
    names = [str(n).strip() for n in answer]
    expected = ["model-01-0.7083.keras", "model-03-0.9167.keras", "model-05-1.0000.keras"]
    if sorted(names) == expected:
        raise _correct(_("epochs 1, 3 and 5 each beat the best val_accuracy so far; epoch 2 only ties it and epoch "
                         "4 is lower, so they write nothing. {epoch:02d} is 1-based; {val_accuracy:.4f} keeps 4 "
                         "decimals."))
    if any("model-00-" in n for n in names) or "model-04-1.0000.keras" in names:
        raise _wrong(_("some names count epochs from 0."),
                     _("{epoch} in a checkpoint name is 1-based: the first epoch writes model-01-...."))
    if "model-02-0.7083.keras" in names:
        raise _wrong(_("epoch 2 writes no file."),
                     _("0.7083 only equals the best so far: no save without a strict gain."))
    extra = sorted(set(names) - set(expected))
    listed = f" ({', '.join(extra)})" if extra else ""
    raise _wrong(_("{missing} expected file(s) missing from your list, {extra} not written by Keras{names}.").format(
                 missing=len(set(expected) - set(names)), extra=len(extra), names=listed),
                 _("a file is written at every epoch that beats all earlier ones; its name holds the epoch (2 digits, "
                   "from 1) and the value (.4f)."))


def _stopped_at(callback, values: list[float]) -> int | None:
    model = _tiny_model()
    epochs = _script([callback], model, _epoch_logs(val_accuracy=values, val_loss=[1.0 - v for v in values]))
    return epochs if model.stop_training else None


@_exercise("01.3", "coding", "A callback that stops once val_accuracy >= 0.97")
def check_01_stop_at_accuracy(answer=...):
    """Coding: ``StopAtAccuracy(target=0.97)``, a Callback that stops at the first epoch with val_accuracy >= target.

    Args:
        answer: the class ``StopAtAccuracy`` (not an instance).

    Example: ``exercises.check_01_stop_at_accuracy(answer)`` prints the verdict.
    """
    cls = _learner_class(answer, keras.callbacks.Callback, "StopAtAccuracy", "keras.callbacks.Callback")
    hint_init = _("give __init__ a default: `def __init__(self, target=0.97):` then `super().__init__()`.")
    hint_stop = _("in on_epoch_end(self, epoch, logs), set `self.model.stop_training = True` when it is high enough.")
    script = [0.80, 0.91, 0.96, 0.97, 0.99]
    stopped = _run(_("your callback"), hint_stop, _stopped_at, _run("`StopAtAccuracy()`", hint_init, cls), script)
    if stopped is None:
        raise _wrong(_("your callback never stopped training (val_accuracy went {values}).").format(
            values=_fmt(script, 2)), hint_stop)
    if stopped != 4:
        value = script[stopped - 1]
        if stopped < 4:
            raise _wrong(_("your callback stopped at epoch {stopped}, when val_accuracy was {value:.2f} (< 0.97).")
                         .format(stopped=stopped, value=value),
                         _("stop only when logs['val_accuracy'] >= self.target (read it from logs, not loss)."))
        raise _wrong(_("your callback stopped at epoch {stopped} (val_accuracy {value:.2f}), one epoch late: "
                       "epoch 4 already reached 0.97.").format(stopped=stopped, value=value),
                     _("use >=, not >: reaching the target is enough."))
    callback = _run("`StopAtAccuracy(target=0.9)`", _("accept the target as an argument: "
                    "`def __init__(self, target=0.97):`."), cls, target=0.9)
    stopped = _run(_("your callback"), hint_stop, _stopped_at, callback, [0.85, 0.93, 0.95])
    if stopped != 2:
        what = _("never stopped") if stopped is None else _("stopped at epoch {stopped}").format(stopped=stopped)
        raise _wrong(_("with StopAtAccuracy(target=0.9) and val_accuracy 0.85, 0.93, 0.95 your callback {what}.")
                     .format(what=what),
                     _("store the argument (`self.target = target`) and compare with self.target, not with 0.97."))
    raise _correct(_("your callback stopped at epoch 4, when val_accuracy first reached 0.97, and honoured "
                     "target=0.9."))


def _saved_epochs(callback, folder: Path, logs: list[dict]) -> tuple[list[int], list[Path]]:
    """Run scripted epochs; return the epochs at which a file changed, and the files changed, in order."""
    digests, saved, written = {}, [], []

    def after_epoch(epoch):
        now = {p: hashlib.sha256(p.read_bytes()).digest() for p in folder.rglob("*") if p.is_file()}
        changed = sorted(p for p in now if digests.get(p) != now[p])
        digests.update(now)
        saved.extend([epoch] if changed else [])
        written.extend(changed[:1])

    _script([callback], _tiny_model(), logs, after_epoch)
    return saved, written


@_exercise("01.4", "coding", "A ModelCheckpoint that keeps only the best model by val_accuracy")
def check_01_best_checkpoint(answer=...):
    """Coding: ``make_checkpoint(folder)``: a ModelCheckpoint of the whole model, in folder, on val_accuracy gains.

    Args:
        answer: the function ``make_checkpoint``.

    Example: ``exercises.check_01_best_checkpoint(answer)`` prints the verdict.
    """
    fn = _learner_function(answer, "make_checkpoint")
    hint = _("return keras.callbacks.ModelCheckpoint(os.path.join(folder, ...), ...).")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        callback = _returned(_run("`make_checkpoint(folder)`", hint, fn, tmp), "make_checkpoint(folder)",
                             _("a callback"))
        if not isinstance(callback, keras.callbacks.ModelCheckpoint):
            raise _wrong(_("`make_checkpoint(folder)` returned {type}, not a ModelCheckpoint.").format(
                type=type(callback).__name__), hint)
        target = Path(str(callback.filepath)).resolve()
        if folder.resolve() not in target.parents:
            raise _wrong(_("your checkpoint writes to {path}, outside the folder it was given.").format(
                path=callback.filepath), _("build the path from the argument: os.path.join(folder, 'best...')."))
        if callback.save_weights_only or not target.name.endswith(".keras"):
            legacy = _(" (.h5 is Keras 2's legacy format)") if target.name.endswith(".h5") else ""
            raise _wrong(_("your checkpoint's file name {name} does not end in .keras{legacy}.").format(
                name=target.name, legacy=legacy),
                _("end the name in .keras (Keras 3's format for whole models); keep save_weights_only=False."))
        if callback.monitor != "val_accuracy":
            raise _wrong(_("your checkpoint monitors {monitor!r}.").format(monitor=callback.monitor),
                         _("pass monitor='val_accuracy'."))
        if not callback.save_best_only:
            raise _wrong(_("your checkpoint saves after every epoch, not only the best one."),
                         _("pass save_best_only=True."))
        values = [0.50, 0.80, 0.70, 0.90]
        saved, written = _run(_("your checkpoint"), _("check the arguments of ModelCheckpoint."), _saved_epochs,
                              callback, folder, _epoch_logs(val_accuracy=values, val_loss=[0.90, 0.50, 0.40, 0.45]))
        if saved != [1, 2, 4]:
            raise _wrong(_("with val_accuracy {values} your checkpoint saved at epochs {saved}; the epochs that beat "
                           "the best so far are different.").format(values=_fmt(values, 2), saved=saved or _("none")),
                         _("higher is better for val_accuracy: leave mode='auto' or set mode='max'."))
        loaded = _run(_("loading your checkpoint"), _("save the whole model to a .keras file."),
                      keras.saving.load_model, str(written[-1]))
        if _marker(loaded) != 4:
            raise _wrong(_("your last checkpoint file holds epoch {epoch}'s weights, not epoch 4's.").format(
                epoch=_marker(loaded)),
                _("keep one file that is replaced at each improvement, or put {epoch:02d} in its name."))
    raise _correct(_("your checkpoint saved at epochs 1, 2 and 4, each a new best val_accuracy (val_loss would have "
                     "picked other epochs), and the file loads with epoch 4's weights."))
