"""Checkers of lesson 02's exercises (MNIST callbacks); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path

import keras
import numpy as np

from keraslab.exercises._core import (
    _correct,
    _epoch_logs,
    _exercise,
    _fmt,
    _learner_function,
    _number,
    _rate,
    _returned,
    _run,
    _script,
    _tiny_model,
    _unsolved,
    _wrong,
)
from keraslab.i18n import translator

__all__ = ["check_02_schedule_rate", "check_02_plateau_rate", "check_02_halving_schedule", "check_02_best_epoch"]
_ = translator("lesson02")


@_exercise("02.1", "question", "The course schedule from another starting rate")
def check_02_schedule_rate(answer=...):
    """Question: ``LearningRateScheduler(schedule)`` with lesson 02's schedule and
    ``SGD(learning_rate=0.05)``: what is the rate during the 15th epoch (``epoch=14``)?

    Args:
        answer: the learning rate, a float (4 significant digits are enough).

    Example: ``exercises.check_02_schedule_rate(answer)`` prints the verdict.
    """
    rate = _number(answer, _("a learning rate (a float)"))
    if math.isclose(rate, 0.05 * math.exp(-1.0), rel_tol=2e-3):
        raise _correct(_("epochs 1-5 keep 0.05, then epochs 6 to 15 each multiply it by exp(-0.1): 10 decays, "
                         "0.05 * exp(-1) = {rate}.").format(rate=_rate(rate)))
    if not 0 < rate < 0.05 or math.isclose(rate, 0.05, rel_tol=1e-6):
        raise _wrong(_("{rate:g} is not below 0.05, the starting rate.").format(rate=rate),
                     _("from the 6th epoch on (epoch=5), every epoch multiplies the rate by exp(-0.1)."))
    if rate <= 0.01 * (1 + 1e-6):
        raise _wrong(_("{rate} is at most 0.01, the lesson's starting rate; this run starts at 0.05.").format(
            rate=_rate(rate)), _("the schedule multiplies whatever rate the optimizer has: start from 0.05."))
    k = round(decays := -math.log(rate / 0.05) / 0.1)
    why = {9: _("that is the rate of the 14th epoch (epoch=13): the 15th epoch is Keras's epoch=14."),
           11: _("that is the rate of the 16th epoch: the 15th epoch is Keras's epoch=14."),
           14: _("you applied the decay from the 2nd epoch on; the schedule keeps the rate for the first 5 epochs."),
           15: _("you applied the decay in every epoch; the schedule keeps the rate for the first 5 epochs.")}
    message = (_("{rate} is not the rate of the 15th epoch ({k} decays).") if abs(decays - k) < 0.02
               else _("{rate} is not the rate of the 15th epoch."))
    raise _wrong(message.format(rate=_rate(rate), k=k),
                 why.get(k, _("count the epochs from the 6th to the 15th: each one multiplies by exp(-0.1).")))


@_exercise("02.2", "question", "ReduceLROnPlateau: the learning rate after 6 epochs")
def check_02_plateau_rate(answer=...):
    """Question: ``ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)`` with Adam at
    0.001 sees val_loss 0.30, 0.25, 0.26, 0.27, 0.24, 0.24. What is the rate after the 6th epoch?

    Args:
        answer: the learning rate, a float.

    Example: ``exercises.check_02_plateau_rate(answer)`` prints the verdict.
    """
    rate = _number(answer, _("a learning rate (a float)"))
    if math.isclose(rate, 0.000125, rel_tol=1e-3):
        raise _correct(_("the rate halves after epochs 3 and 4 (worse than 0.25) and after epoch 6 (0.24 only ties "
                         "the best): 0.001 / 2**3 = 0.000125."))
    halvings = math.log2(0.001 / rate) if rate > 0 else float("nan")
    n = round(halvings) if math.isfinite(halvings) else None
    if n is not None and abs(halvings - n) < 0.01:
        why = {2: _("epoch 6's 0.24 only equals the best so far: that is no improvement (it must be lower by more "
                    "than min_delta=1e-4), so the rate halves again."),
               0: _("with patience=1, one epoch without a new best is enough to halve the rate."),
               1: _("after the rate halves, the wait counter restarts: epoch 4 is another epoch without improvement."),
               4: _("epoch 5 (0.24) is a new best: no halving there.")}
        raise _wrong(_("{rate} is 0.001 halved {n} time(s); that is not the rate after epoch 6.").format(
            rate=_rate(rate), n=n), why.get(n, _("go epoch by epoch: a new lowest val_loss resets the wait; otherwise "
                                                 "halve.")))
    raise _wrong(_("{rate} is not 0.001 halved a whole number of times.").format(rate=_rate(rate)),
                 _("ReduceLROnPlateau multiplies the rate by factor=0.5 each time it reduces it."))


def _schedule_rates(schedule, initial: float, epochs: int = 8) -> list[float]:
    """The rates a real LearningRateScheduler sets for epochs 0..epochs-1 with ``schedule``."""
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(initial), loss="sparse_categorical_crossentropy")
    scheduler = keras.callbacks.LearningRateScheduler(schedule)
    scheduler.set_model(model)
    rates = []
    for epoch in range(epochs):
        scheduler.on_epoch_begin(epoch)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return rates


@_exercise("02.3", "coding", "A schedule that halves the learning rate every 3 epochs")
def check_02_halving_schedule(answer=...):
    """Coding: ``halve_every_3(epoch, lr)`` for ``LearningRateScheduler``: keep the rate for
    epochs 0-2, halve it at epochs 3, 6, 9, ..., for any starting rate; return a float.

    Args:
        answer: the function ``halve_every_3``.

    Example: ``exercises.check_02_halving_schedule(answer)`` prints the verdict.
    """
    fn = _learner_function(answer, "halve_every_3")
    if _run("`halve_every_3(0, 0.1)`", _("return the rate as a float."), fn, 0, 0.1) is None:
        raise _unsolved(_("`halve_every_3(0, 0.1)` returned None: replace the `...` with your code and return the "
                          "rate."))
    for initial in (0.1, 0.02):
        expected = [initial * 0.5 ** (epoch // 3) for epoch in range(8)]
        rates = _run(_("LearningRateScheduler with your schedule"), _("LearningRateScheduler needs a Python float: "
                     "`return float(...)`."), _schedule_rates, fn, initial)
        if not np.allclose(rates, expected, rtol=1e-5):
            bad = next(i for i, (a, b) in enumerate(zip(rates, expected, strict=True)) if not np.isclose(a, b))
            hint = (_("use the `lr` argument (the current rate), not a fixed start value.") if initial == 0.02 else
                    _("epochs 0, 1, 2 keep the rate; halve it when epoch > 0 and epoch % 3 == 0, else return lr."))
            raise _wrong(_("starting at {initial}, your schedule set {rates} for epochs 0-7; expected {expected}. "
                           "First difference at epoch={bad}: {got} instead of {want}.").format(
                initial=initial, rates=_fmt([_rate(r) for r in rates]), expected=_fmt([_rate(r) for r in expected]),
                bad=bad, got=_rate(rates[bad]), want=_rate(expected[bad])), hint)
    raise _correct(_("from 0.1 and from 0.02, a real LearningRateScheduler with your schedule kept the rate for 3 "
                     "epochs, then halved it at epochs 3 and 6."))


_LOGS_02 = [([0.40, 0.31, 0.33, 0.27, 0.28, 0.29, 0.30], [0.60, 0.40, 0.30, 0.25, 0.20, 0.15, 0.10]),
            ([0.50, 0.42, 0.45, 0.42, 0.44], [0.70, 0.50, 0.45, 0.40, 0.35])]  # (val_loss, loss); the 2nd has a tie


def _plateau_log(path: Path, val_loss: list[float], loss: list[float]) -> tuple[list[float], list[float]]:
    """Write a CSV log as lesson 02 does (ReduceLROnPlateau, then CSVLogger); return its val_loss and rates."""
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    _script([plateau, keras.callbacks.CSVLogger(str(path))], _tiny_model(), _epoch_logs(val_loss=val_loss, loss=loss))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [float(row["val_loss"]) for row in rows], [float(row["learning_rate"]) for row in rows]


@_exercise("02.4", "coding", "Read a CSVLogger log: the best epoch and its learning rate")
def check_02_best_epoch(answer=...):
    """Coding: ``best_epoch(csv_path)`` reads a ``CSVLogger`` file and returns ``(epoch, learning_rate)``:
    the first epoch with the lowest val_loss, counted from 1, and the rate it trained with.

    Args:
        answer: the function ``best_epoch``.

    Example: ``exercises.check_02_best_epoch(answer)`` prints the verdict.
    """
    fn = _learner_function(answer, "best_epoch")
    hint = _("open the file with csv.DictReader, find the row with the lowest float(row['val_loss']), return a pair.")
    for number, (val_loss, loss) in enumerate(_LOGS_02, 1):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "training.csv"
            values, rates = _plateau_log(path, val_loss, loss)
            result = _returned(_run("`best_epoch(csv_path)`", hint, fn, path), "best_epoch(csv_path)", _("a pair"))
        if not isinstance(result, (tuple, list)) or len(result) != 2 or any(isinstance(v, str) for v in result):
            raise _wrong(_("`best_epoch(csv_path)` returned {result!r}, not a pair of numbers.").format(result=result),
                         _("return (epoch, learning_rate); csv.DictReader gives strings: convert them with "
                           "int(float(...)), float(...)."))
        epoch, rate = (_number(v) for v in result)
        best = values.index(min(values))
        where = _("on log {number} (val_loss {values}, learning_rate {rates})").format(
            number=number, values=_fmt(values, 2), rates=_fmt([_rate(r) for r in rates]))
        if epoch != best + 1:
            highest, lowest_loss, tie = (values.index(max(values)) + 1, loss.index(min(loss)) + 1,
                                         len(values) - values[::-1].index(min(values)))
            why = {best: _("the CSV's epoch column counts from 0; the training log (Epoch 1/10) counts from 1."),
                   highest: _("that epoch has the highest val_loss, not the lowest."),
                   lowest_loss: _("that epoch has the lowest training loss; the checkpoint reads val_loss."),
                   tie: _("a tie is no improvement: ModelCheckpoint keeps the first epoch that reached the lowest "
                          "val_loss.")}
            raise _wrong(_("{where} your function says epoch {epoch:g}; the best epoch is another one.").format(
                where=where, epoch=epoch), why.get(int(epoch), hint))
        if not math.isclose(rate, rates[best], rel_tol=1e-5):
            raise _wrong(_("{where} your function says epoch {epoch:g} trained at {rate}.").format(
                where=where, epoch=epoch, rate=_rate(rate)), _("read learning_rate from the same row as the lowest "
                "val_loss: it is the rate that epoch trained with (ReduceLROnPlateau logs it before it lowers the "
                "rate)."))
    raise _correct(_("your function found the first epoch with the lowest val_loss, counted from 1, and the rate in "
                     "its row, in two logs written by CSVLogger (one with a tie)."))
