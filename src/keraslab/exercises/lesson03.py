"""Checkers of lesson 03's exercises (Fashion-MNIST, dropout and early stopping); see :mod:`keraslab.exercises`."""

from __future__ import annotations

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
    _marker,
    _number,
    _returned,
    _run,
    _script,
    _tiny_model,
    _Verdict,
    _whole,
    _wrong,
)

__all__ = ["check_03_best_epoch", "check_03_dropout_value", "check_03_dropout_model", "check_03_best_model_callbacks"]


_VAL_LOSS_03 = [0.42, 0.38, 0.36, 0.35, 0.36, 0.37, 0.39, 0.40]


@_exercise("03.1", "question", "Overfitting: which epoch is best?")
def check_03_best_epoch(answer=...):
    """Question: training loss 0.53, 0.39, 0.35, 0.32, 0.30, 0.28, 0.26, 0.25 and
    validation loss 0.42, 0.38, 0.36, 0.35, 0.36, 0.37, 0.39, 0.40 (epochs 1-8).
    Which epoch (1-based) gives the best model for new data?

    Args:
        answer: a whole number, the 1-based epoch.

    Example:

    >>> check_03_best_epoch(8)
    ❌ Not yet: epoch 8 has the lowest *training* loss (0.25), but its validation loss is 0.40.
       Hint: new data is what the validation loss measures: pick its lowest epoch.
    False
    """
    epoch = _whole(answer)
    if epoch == 4:
        raise _correct("the validation loss is lowest at epoch 4 (0.35); after that it rises while the training loss "
                       "keeps falling: the model overfits (과대적합).")
    if epoch == 8:
        raise _wrong("epoch 8 has the lowest *training* loss (0.25), but its validation loss is 0.40.",
                     "new data is what the validation loss measures: pick its lowest epoch.")
    if 1 <= epoch <= 8:
        raise _wrong(f"epoch {epoch} has validation loss {_VAL_LOSS_03[epoch - 1]:.2f}; another epoch is lower.",
                     "look for the minimum of the validation loss, not of the training loss.")
    raise _wrong(f"there is no epoch {epoch}: the run has epochs 1 to 8.")


@_exercise("03.2", "question", "What does Dropout(0.3) make of a kept 1.0 in training?")
def check_03_dropout_value(answer=...):
    """Question: ``keras.layers.Dropout(0.3)`` is called with ``training=True`` on a
    tensor of ones. What value does an output that is *kept* (not dropped) have?

    Args:
        answer: a number (3 decimals are enough).

    Example::

        check_03_dropout_value(1 / 0.7)
    """
    value = _number(answer)
    if math.isclose(value, 1 / 0.7, abs_tol=1e-3):
        raise _correct("a kept value is scaled by 1 / (1 - 0.3) = 1.4286, so the layer's output keeps the same "
                       "expected sum in training as at inference, when nothing is dropped.")
    hints = {
        0.7: "0.7 is the share of values kept; the kept values are divided by it, not multiplied.",
        1.0: "1.0 is what every value stays at inference (training=False). In training, kept values are scaled up.",
        1.3: "the scale is not 1 + r: kept values are divided by 1 - r.",
        0.0: "0 is what a *dropped* value becomes; the question asks about a kept one.",
        0.3: "0.3 is the rate, the share of values dropped.",
    }
    for key, hint in hints.items():
        if math.isclose(value, key, abs_tol=1e-3):
            raise _wrong(f"a kept value is not {value:g}.", hint)
    raise _wrong(f"a kept value is not {value:g}.", "Keras scales kept values by 1 / (1 - rate).")


def _check_dropout_model(fn) -> _Verdict:
    hint = "build it like keraslab.models.model_fn: keras.Input((28, 28)), Flatten, Dense(100, relu), Dropout(rate), " \
           "Dense(10, softmax)."
    model = _returned(_run("`model_with_dropout(0.3)`", hint, fn, 0.3), "model_with_dropout(0.3)", "the model")
    if not isinstance(model, keras.Model):
        raise _wrong(f"`model_with_dropout(0.3)` returned {type(model).__name__}, not a Keras model.", hint)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    if not dropouts:
        raise _wrong("your model has no Dropout layer.", "add keras.layers.Dropout(rate) after the hidden layer.")
    if len(dropouts) > 1:
        raise _wrong(f"your model has {len(dropouts)} Dropout layers; the task asks for one.", hint)
    if not math.isclose(float(dropouts[0].rate), 0.3):
        raise _wrong(f"model_with_dropout(0.3) has a Dropout rate of {float(dropouts[0].rate):g}.",
                     "pass the function's argument on: keras.layers.Dropout(rate).")
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    position = layers.index(dropouts[0])
    if len(dense) != 2 or not dense[0] < position < dense[1]:
        raise _wrong("the Dropout layer is not between the hidden Dense(100) layer and the output layer.",
                     "dropout switches off hidden outputs: put it right after Dense(100, relu).")
    params = model.count_params()
    if params != 79_510:
        raise _wrong(f"your model has {params:,} parameters; the course's model has 79,510 "
                     "(784 x 100 + 100 and 100 x 10 + 10).", hint)
    x = np.random.default_rng(0).random((8, 28, 28)).astype("float32")
    infer_a = keras.ops.convert_to_numpy(_run("calling your model", hint, model, x, training=False))
    infer_b = keras.ops.convert_to_numpy(model(x, training=False))
    train = keras.ops.convert_to_numpy(model(x, training=True))
    if infer_a.shape != (8, 10) or not np.allclose(infer_a.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong(f"on 8 images your model returns shape {infer_a.shape}, not 8 rows of 10 probabilities.",
                     "end with Dense(10, activation='softmax').")
    if not np.array_equal(infer_a, infer_b) or np.allclose(train, infer_a):
        raise _wrong("your model does not switch dropout on in training and off at inference.",
                     "use keras.layers.Dropout, which Keras turns off by itself at inference.")
    other = _run("`model_with_dropout(0.5)`", hint, fn, 0.5)
    rates = [float(layer.rate) for layer in getattr(other, "layers", []) if isinstance(layer, keras.layers.Dropout)]
    if rates != [0.5]:
        raise _wrong(f"model_with_dropout(0.5) has Dropout rates {rates}.", "use the `rate` argument.")
    return _correct("79,510 parameters, one Dropout layer with the rate you asked for after Dense(100); two inference "
                    "calls agree and a training call drops values.")


@_exercise("03.3", "coding", "The course model with a Dropout layer")
def check_03_dropout_model(answer=...):
    """Coding: ``model_with_dropout(rate)`` returns the course's Fashion-MNIST model
    (``keras.Input((28, 28))``, Flatten, Dense(100, relu), Dense(10, softmax)) with
    a ``Dropout(rate)`` layer after the hidden layer.

    The check builds it with 0.3 and 0.5, counts parameters and calls it on 8
    random images with ``training=False`` (twice) and ``training=True``.

    Args:
        answer: the function ``model_with_dropout``.

    Example::

        def model_with_dropout(rate):
            ...  # your code here

        exercises.check_03_dropout_model(model_with_dropout)
    """
    keras.utils.set_random_seed(0)
    raise _check_dropout_model(_learner_function(answer, "model_with_dropout"))


_VAL_LOSS_ES_03 = [0.45, 0.40, 0.38, 0.39, 0.41, 0.37]
_VAL_ACC_ES_03 = [0.80, 0.83, 0.82, 0.84, 0.86, 0.87]


def _configured_callbacks_03(fn, folder: Path) -> tuple[list, keras.callbacks.EarlyStopping]:
    """Exercise 03.4, step 1: ``fn(folder)`` returns one ModelCheckpoint and one EarlyStopping, set up as asked."""
    hint = "return [keras.callbacks.ModelCheckpoint(...), keras.callbacks.EarlyStopping(...)]."
    cbs = _returned(_run("`make_callbacks(folder)`", hint, fn, str(folder)), "make_callbacks(folder)", "a list")
    if not isinstance(cbs, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in cbs):
        raise _wrong(f"`make_callbacks(folder)` returned {type(cbs).__name__}, not a list of callbacks.", hint)
    checkpoints = [c for c in cbs if isinstance(c, keras.callbacks.ModelCheckpoint)]
    stoppers = [c for c in cbs if isinstance(c, keras.callbacks.EarlyStopping)]
    if len(checkpoints) != 1 or len(stoppers) != 1:
        raise _wrong(f"your list has {len(checkpoints)} ModelCheckpoint and {len(stoppers)} EarlyStopping "
                     "callbacks; the task asks for one of each.", hint)
    checkpoint, stopper = checkpoints[0], stoppers[0]
    if Path(str(checkpoint.filepath)).resolve() != (folder / "best-model.keras").resolve():
        raise _wrong(f"your checkpoint writes to {Path(str(checkpoint.filepath)).name!r}, not to "
                     "folder/'best-model.keras'.", "use os.path.join(folder, 'best-model.keras').")
    for name, callback in (("checkpoint", checkpoint), ("early stopping", stopper)):
        if callback.monitor != "val_loss":
            raise _wrong(f"your {name} monitors {callback.monitor!r}.", "monitor='val_loss' (its default).")
    if not checkpoint.save_best_only:
        raise _wrong("your checkpoint saves after every epoch, not only the best.", "pass save_best_only=True.")
    return list(cbs), stopper


def _check_callbacks_03_run(cbs: list, stopper, best_file: Path) -> None:
    """Exercise 03.4, step 2: on scripted epochs, stop after epoch 5, restore epoch 3, save epoch 3."""
    model = _tiny_model()
    logs = _epoch_logs(val_loss=_VAL_LOSS_ES_03, val_accuracy=_VAL_ACC_ES_03)
    epochs = _run("your callbacks", "check their arguments.", _script, cbs, model, logs)
    if epochs != 5:
        raise _wrong(
            f"with val_loss {_fmt(_VAL_LOSS_ES_03, 2)} training "
            + ("never stopped (6 of 6 epochs ran)" if epochs == 6 else f"stopped after epoch {epochs}")
            + "; with patience=2 it stops after epoch 5, 2 epochs after the best one (epoch 3).",
            f"EarlyStopping(monitor='val_loss', patience=2) (yours has patience={stopper.patience}).",
        )
    if _marker(model) != 3:
        raise _wrong(f"after training the model holds epoch {_marker(model)}'s weights, not the best epoch's (3).",
                     "pass restore_best_weights=True to EarlyStopping.")
    if not best_file.exists():
        raise _wrong("your checkpoint wrote no best-model.keras file.", "save the whole model (.keras).")
    best = keras.saving.load_model(str(best_file))
    if _marker(best) != 3:
        raise _wrong(f"best-model.keras holds epoch {_marker(best)}'s weights, not epoch 3's.",
                     "save_best_only=True with monitor='val_loss'.")


@_exercise("03.4", "coding", "A best-model checkpoint plus early stopping that restores the best weights")
def check_03_best_model_callbacks(answer=...):
    """Coding: ``make_callbacks(folder)`` returns a list of two callbacks: a
    ``ModelCheckpoint`` that keeps the best model by val_loss in
    ``folder/best-model.keras``, and an ``EarlyStopping`` on val_loss with
    ``patience=2`` that restores the best weights.

    The check runs both on a tiny model through scripted epochs (val_loss 0.45, 0.40,
    0.38, 0.39, 0.41, 0.37), then checks when training stopped, which epoch's
    weights the model holds and which epoch the file holds.

    Args:
        answer: the function ``make_callbacks``.

    Example::

        def make_callbacks(folder):
            ...  # your code here

        exercises.check_03_best_model_callbacks(make_callbacks)
    """
    fn = _learner_function(answer, "make_callbacks")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cbs, stopper = _configured_callbacks_03(fn, folder)
        _check_callbacks_03_run(cbs, stopper, folder / "best-model.keras")
    raise _correct("training stopped after epoch 5, the model was given back epoch 3's weights (the lowest val_loss, "
                   "0.38), and best-model.keras holds the same epoch.")


# =========================================================================== lesson 04
