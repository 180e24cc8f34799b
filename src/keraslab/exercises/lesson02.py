"""Checkers of lesson 02's exercises (MNIST callbacks); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

import keras
import numpy as np

from keraslab.exercises._core import (
    _correct,
    _exercise,
    _fmt,
    _learner_function,
    _number,
    _rate,
    _run,
    _tiny_model,
    _unsolved,
    _wrong,
)
from keraslab.exercises.lesson01 import _check_checkpoint

__all__ = [
    "check_02_schedule_rate", "check_02_plateau_rate", "check_02_halving_schedule", "check_02_weights_checkpoint",
]


@_exercise("02.1", "question", "The course schedule's learning rate at epoch 8")
def check_02_schedule_rate(answer=...):
    """Question: ``LearningRateScheduler(schedule)`` with lesson 02's schedule starts at
    0.01. What is the learning rate during the 8th epoch (``epoch=7`` for Keras)?

    Args:
        answer: the learning rate, a float (4 significant digits are enough).

    Example:

    >>> check_02_schedule_rate(0.01)
    ❌ Not yet: 0.01 is the rate of the first 5 epochs only.
       Hint: from the 6th epoch on (epoch=5), every epoch multiplies the rate by exp(-0.1).
    False
    """
    rate = _number(answer, "a learning rate (a float)")
    expected = 0.01 * math.exp(-0.3)
    if math.isclose(rate, expected, rel_tol=2e-3):
        raise _correct(f"epochs 1-5 keep 0.01, then epochs 6, 7 and 8 each multiply it by exp(-0.1): "
                       f"0.01 * exp(-0.3) = {_rate(expected)}.")
    if math.isclose(rate, 0.01, rel_tol=1e-6):
        raise _wrong("0.01 is the rate of the first 5 epochs only.",
                     "from the 6th epoch on (epoch=5), every epoch multiplies the rate by exp(-0.1).")
    if rate <= 0 or rate > 0.01:
        raise _wrong(f"{rate:g} cannot come from the schedule: it only keeps or lowers 0.01.",
                     "the rate is 0.01 * exp(-0.1 * k), k = the number of decays so far.")
    decays = -math.log(rate / 0.01) / 0.1
    k = round(decays)
    if abs(decays - k) < 0.02:
        why = {
            4: "that is the rate of the 9th epoch (epoch=8): the 8th epoch is Keras's epoch=7.",
            2: "that is the rate of the 7th epoch.",
            7: "you applied the decay from the 1st epoch; the schedule keeps the rate for the first 5 epochs.",
            8: "you applied the decay in every epoch; the schedule keeps the rate for the first 5 epochs.",
        }
        raise _wrong(f"{_rate(rate)} is 0.01 * exp(-0.1 * {k}), {k} decays; by the 8th epoch there have been 3.",
                     why.get(k, "decays happen at the start of epochs 6, 7 and 8 (Keras's epoch=5, 6, 7)."))
    raise _wrong(f"{_rate(rate)} is not the rate of the 8th epoch.",
                 "the rate is 0.01 for 5 epochs, then multiplied by exp(-0.1) once per epoch.")


_PLATEAU_VAL_LOSS = [0.30, 0.25, 0.26, 0.27, 0.24, 0.24]


@_exercise("02.2", "question", "ReduceLROnPlateau: the learning rate after 6 epochs")
def check_02_plateau_rate(answer=...):
    """Question: ``ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)``
    with Adam at 0.001 sees val_loss 0.30, 0.25, 0.26, 0.27, 0.24, 0.24. What is the
    learning rate after the 6th epoch?

    Args:
        answer: the learning rate, a float.

    Example::

        check_02_plateau_rate(0.000125)
    """
    rate = _number(answer, "a learning rate (a float)")
    if math.isclose(rate, 0.000125, rel_tol=1e-3):
        raise _correct("the rate halves after epochs 3 and 4 (worse than 0.25) and after epoch 6 (0.24 only ties "
                       "the best): 0.001 / 2**3 = 0.000125.")
    halvings = math.log2(0.001 / rate) if rate > 0 else float("nan")
    n = round(halvings) if math.isfinite(halvings) else None
    if n is not None and abs(halvings - n) < 0.01:
        why = {
            2: "epoch 6's 0.24 only equals the best so far: that is no improvement (it must be lower by more than "
            "min_delta=1e-4), so the rate halves again.",
            0: "with patience=1, one epoch without a new best is enough to halve the rate.",
            1: "after the rate halves, the wait counter restarts: epoch 4 is another epoch without improvement.",
            4: "epoch 5 (0.24) is a new best: no halving there.",
        }
        raise _wrong(f"{_rate(rate)} is 0.001 halved {n} time(s); it halves 3 times.",
                     why.get(n, "go epoch by epoch: a new lowest val_loss resets the wait; otherwise halve."))
    raise _wrong(f"{_rate(rate)} is not 0.001 halved a whole number of times.",
                 "ReduceLROnPlateau multiplies the rate by factor=0.5 each time it reduces it.")


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
    """Coding: ``halve_every_3(epoch, lr)`` for ``LearningRateScheduler``: keep the
    rate for epochs 0-2 (Keras counts from 0), halve it at epochs 3, 6, 9, ..., for
    any starting rate; return a float.

    The check runs a real ``LearningRateScheduler`` for 8 epochs from 0.1 and from 0.02.

    Args:
        answer: the function ``halve_every_3``.

    Example::

        def halve_every_3(epoch, lr):
            ...  # your code here

        exercises.check_02_halving_schedule(halve_every_3)
    """
    fn = _learner_function(answer, "halve_every_3")
    first = _run("`halve_every_3(0, 0.1)`", "return the rate as a float.", fn, 0, 0.1)
    if first is None:
        raise _unsolved("`halve_every_3(0, 0.1)` returned None: replace the `...` with your code and return the rate.")
    hint_float = "LearningRateScheduler needs a Python float: `return float(...)`."
    for initial in (0.1, 0.02):
        expected = [initial * 0.5 ** (epoch // 3) for epoch in range(8)]
        rates = _run("LearningRateScheduler with your schedule", hint_float, _schedule_rates, fn, initial)
        if not np.allclose(rates, expected, rtol=1e-5):
            first_bad = next(i for i, (a, b) in enumerate(zip(rates, expected, strict=True)) if not np.isclose(a, b))
            hint = (
                "use the `lr` argument (the current rate), not a fixed start value."
                if initial == 0.02
                else "epochs 0, 1, 2 keep the rate; halve it when epoch is 3, 6, 9... (epoch % 3 == 0, epoch > 0), "
                "otherwise return lr unchanged."
            )
            raise _wrong(
                f"starting at {initial}, your schedule set {_fmt([_rate(r) for r in rates])} for epochs 0-7; expected "
                f"{_fmt([_rate(r) for r in expected])}. First difference at epoch={first_bad}: "
                f"{_rate(rates[first_bad])} "
                f"instead of {_rate(expected[first_bad])}.",
                hint,
            )
    raise _correct("from 0.1 and from 0.02, a real LearningRateScheduler with your schedule kept the rate for 3 "
                   "epochs, then halved it at epochs 3 and 6.")


@_exercise("02.4", "coding", "A weights-only checkpoint of the lowest val_loss")
def check_02_weights_checkpoint(answer=...):
    """Coding: ``make_weights_checkpoint(folder)`` returns a ``ModelCheckpoint`` that
    saves only the weights (``.weights.h5``) inside ``folder``, only when val_loss
    reaches a new low.

    The check runs the callback on a tiny model through 4 scripted epochs (val_loss
    0.90, 0.50, 0.40, 0.45; val_accuracy 0.50, 0.80, 0.70, 0.90) and loads the file
    into a fresh model with ``load_weights``.

    Args:
        answer: the function ``make_weights_checkpoint``.

    Example::

        def make_weights_checkpoint(folder):
            ...  # your code here

        exercises.check_02_weights_checkpoint(make_weights_checkpoint)
    """
    raise _check_checkpoint(
        answer, "make_weights_checkpoint", monitor="val_loss", weights_only=True, expected=[1, 2, 3]
    )


# =========================================================================== lesson 03
_TRAIN_LOSS_03 = [0.53, 0.39, 0.35, 0.32, 0.30, 0.28, 0.26, 0.25]
