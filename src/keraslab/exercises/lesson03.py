"""Checkers of lesson 03's exercises (Fashion-MNIST, dropout and early stopping); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

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
    _unsolved,
    _whole,
    _wrong,
)
from keraslab.i18n import translator

__all__ = ["check_03_best_epoch", "check_03_dropout_value", "check_03_dropout_model", "check_03_early_stopping_choice"]
_ = translator("lesson03")


_VAL_LOSS_03 = [0.42, 0.38, 0.36, 0.35, 0.36, 0.37, 0.39, 0.40]


@_exercise("03.1", "question", "Overfitting: which epoch is best?")
def check_03_best_epoch(answer=...):
    """Question: in the table of exercise 03.1, which epoch (1-based) gives the best model for new data?

    Args:
        answer: a whole number, the 1-based epoch.

    Example: ``exercises.check_03_best_epoch(best_epoch)``
    """
    epoch = _whole(answer)
    if epoch == 4:
        raise _correct(_("the validation loss is lowest at epoch 4 (0.35); after that it rises while the training "
                         "loss keeps falling: the model overfits (과대적합)."))
    if epoch == 8:
        raise _wrong(_("epoch 8 has the lowest *training* loss (0.25), but its validation loss is 0.40."),
                     _("new data is what the validation loss measures: pick its lowest epoch."))
    if 1 <= epoch <= 8:
        raise _wrong(_("epoch {epoch} has validation loss {loss:.2f}; another epoch is lower.").format(
                     epoch=epoch, loss=_VAL_LOSS_03[epoch - 1]),
                     _("look for the minimum of the validation loss, not of the training loss."))
    raise _wrong(_("there is no epoch {epoch}: the run has epochs 1 to 8.").format(epoch=epoch))


@_exercise("03.2", "question", "What does Dropout(0.25) make of a kept 3.0 in training?")
def check_03_dropout_value(answer=...):
    """Question: ``Dropout(0.25)(x, training=True)`` with ``x`` filled with 3.0: what is a *kept* output?

    Args:
        answer: a number (3 decimals are enough).

    Example: ``exercises.check_03_dropout_value(kept_value)``
    """
    value = _number(answer)
    if math.isclose(value, 3.0 / 0.75, abs_tol=1e-3):
        raise _correct(_("a kept value is scaled by 1 / (1 - 0.25), so 3.0 becomes 3.0 / 0.75 = 4.0 and the layer's "
                         "output keeps the same expected value in training as at inference, when nothing is dropped."))
    hints = {
        3.0 * 0.75: _("multiplying by the share kept (0.75) would shrink the output; kept values are *divided* by it."),
        3.0: _("3.0 is what every value stays at inference (training=False). In training, kept values are scaled up."),
        0.0: _("0 is what a *dropped* value becomes; the question asks about a kept one."),
        3.0 / 0.25: _("dividing by the rate (0.25) is too much: kept values are divided by the share *kept*."),
    }
    hint = _("Keras scales kept values by 1 / (1 - rate).")
    hint = next((text for key, text in hints.items() if math.isclose(value, key, abs_tol=1e-3)), hint)
    raise _wrong(_("a kept value is not {value:g}.").format(value=value), hint)


@_exercise("03.3", "coding", "The course model with a Dropout layer")
def check_03_dropout_model(answer=...):
    """Coding: ``model_with_dropout(rate)`` returns the lesson's model with ``Dropout(rate)`` after the
    hidden layer; the check builds it with 0.3 and 0.5 and calls it in inference and in training.

    Args:
        answer: the function ``model_with_dropout``.

    Example: ``exercises.check_03_dropout_model(model_with_dropout)``
    """
    fn = _learner_function(answer, "model_with_dropout")
    keras.utils.set_random_seed(0)
    hint = _("build it like this lesson's model_fn: Input((28, 28)), Flatten, Dense(100, relu), Dropout, Dense(10).")
    model = _returned(_run("`model_with_dropout(0.3)`", hint, fn, 0.3), "model_with_dropout(0.3)", _("the model"))
    if not isinstance(model, keras.Model):
        raise _wrong(_("`model_with_dropout(0.3)` returned {type}, not a Keras model.").format(
                     type=type(model).__name__), hint)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    if len(dropouts) != 1:
        raise _wrong(_("your model has {count} Dropout layers; the task asks for one.").format(count=len(dropouts))
                     if dropouts else _("your model has no Dropout layers; the task asks for one."), hint)
    if not math.isclose(float(dropouts[0].rate), 0.3):
        raise _wrong(_("model_with_dropout(0.3) has a Dropout rate of {rate:g}.").format(rate=float(dropouts[0].rate)),
                     _("pass the function's argument on: keras.layers.Dropout(rate)."))
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 2 or not dense[0] < layers.index(dropouts[0]) < dense[1]:
        raise _wrong(_("the Dropout layer is not between the hidden Dense(100) layer and the output layer."),
                     _("dropout switches off hidden outputs: put it right after Dense(100, relu)."))
    if model.count_params() != 79_510:
        raise _wrong(_("your model has {count:,} parameters; the course's model has 79,510.").format(
                     count=model.count_params()), hint)
    x = np.random.default_rng(0).random((8, 28, 28)).astype("float32")
    infer_a = keras.ops.convert_to_numpy(_run(_("calling your model"), hint, model, x, training=False))
    infer_b = keras.ops.convert_to_numpy(model(x, training=False))
    train = keras.ops.convert_to_numpy(model(x, training=True))
    if infer_a.shape != (8, 10) or not np.allclose(infer_a.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong(_("on 8 images your model returns shape {shape}, not 8 rows of 10 probabilities.").format(
                     shape=infer_a.shape), _("end with Dense(10, activation='softmax')."))
    if not np.array_equal(infer_a, infer_b) or np.allclose(train, infer_a):
        raise _wrong(_("your model does not switch dropout on in training and off at inference."),
                     _("use keras.layers.Dropout, which Keras turns off by itself at inference."))
    other = _run("`model_with_dropout(0.5)`", hint, fn, 0.5)
    rates = [float(layer.rate) for layer in getattr(other, "layers", []) if isinstance(layer, keras.layers.Dropout)]
    if rates != [0.5]:
        raise _wrong(_("model_with_dropout(0.5) has Dropout rates {rates}.").format(rates=rates),
                     _("use the `rate` argument."))
    raise _correct(_("79,510 parameters, one Dropout layer with the rate you asked for after Dense(100); two "
                     "inference calls agree and a training call drops values."))


_VAL_ACC_ES_03 = [0.80, 0.84, 0.83, 0.82, 0.86, 0.85, 0.84, 0.85, 0.83, 0.82]
_VAL_LOSS_ES_03 = [0.50, 0.45, 0.47, 0.48, 0.44, 0.43, 0.42, 0.41, 0.40, 0.39]


@_exercise("03.4", "coding", "Choose what EarlyStopping watches, and how patiently")
def check_03_early_stopping_choice(answer=...):
    """Coding: ``early_stopping``, a ``keras.callbacks.EarlyStopping`` for the situation of exercise 03.4.
    The check drives it through 10 scripted epochs: when does training stop, which weights are kept?

    Args:
        answer: the callback ``early_stopping``.

    Example: ``exercises.check_03_early_stopping_choice(early_stopping)``
    """
    if answer is ...:
        raise _unsolved()
    if not isinstance(answer, keras.callbacks.EarlyStopping):
        raise _wrong(_("`early_stopping` is {type}, not a keras.callbacks.EarlyStopping.").format(
                     type=type(answer).__name__),
                     _("write `early_stopping = keras.callbacks.EarlyStopping(...)` with the arguments you chose."))
    model = _tiny_model()
    logs = _epoch_logs(val_loss=_VAL_LOSS_ES_03, val_accuracy=_VAL_ACC_ES_03)
    if answer.monitor not in logs[0]:
        raise _wrong(_("your callback watches {monitor!r}, which this run does not log (it logs {logged}).").format(
                     monitor=answer.monitor, logged=sorted(logs[0])),
                     _("Keras 3 names the validation accuracy 'val_accuracy'."))
    epochs = _run(_("your EarlyStopping"), _("check its arguments."), _script, [answer], model, logs)
    monitor, held = answer.monitor, _marker(model)
    ran = _("never stopped (10 of 10 epochs ran)") if epochs == 10 else _("stopped after epoch {n}").format(n=epochs)
    if monitor != "val_accuracy":
        raise _wrong(_("your callback watches {monitor!r}, not the number the team judges the model by; training "
                       "{ran}.").format(monitor=monitor, ran=ran),
                     _("the team reports the *validation* accuracy: monitor that."))
    if answer.mode == "min":
        raise _wrong(_("with mode='min' a falling accuracy counts as progress: training {ran} and the model holds "
                       "epoch {held}'s weights.").format(ran=ran, held=held),
                     _("accuracy is better when higher: mode='max' (or 'auto')."))
    if epochs != 8:
        why = _("during a dip: it set a new record at epoch 5") if epochs < 8 else \
            _("but after epoch 8 it had gone 3 epochs without a record, so no new one could come")
        raise _wrong(_("with val_accuracy {values} training {ran}, {why}.").format(
                     values=_fmt(_VAL_ACC_ES_03, 2), ran=ran, why=why),
                     _("training stops once `patience` epochs in a row brought no record; {patience}.").format(
                     patience=_("yours has patience={n}").format(n=answer.patience)))
    if held != 5:
        raise _wrong(_("training stopped after epoch 8, but the model holds epoch {held}'s weights, not the best "
                       "epoch's (5).").format(held=held), _("pass restore_best_weights=True."))
    raise _correct(_("training stopped after epoch 8, 3 epochs after the record of epoch 5 (0.86), without "
                     "stopping in the dip after epoch 2, and the model holds epoch 5's weights."))
