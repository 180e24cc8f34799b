"""Checkers of lesson 05's exercises (custom training loops); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

import keras
import numpy as np

from keraslab.exercises import _core
from keraslab.exercises._core import _correct, _exercise, _learner_class, _run, _wrong
from keraslab.i18n import translator

__all__ = ["check_05_batch_logs", "check_05_mae_metric", "check_05_epoch_recorder", "check_05_train_step_mae"]
_ = translator("lesson05")


@_exercise("05.1", "question", "One batch's loss from the running mean")
def check_05_batch_logs(answer=...):
    """Question: which formula gives the loss of batch ``batch`` alone?

    Args:
        answer: ``"a"``, ``"b"`` or ``"c"``.

    Example::

        exercises.check_05_batch_logs("a")
    """
    choice = _core._choice(answer, {"a": "a", "b": "b", "c": "c"})
    if choice == "b":
        raise _correct(_("a running mean times the number of batches is their sum; subtract the previous sum."))
    if choice == "a":
        raise _wrong(_("logs['loss'] in a batch-level hook is the mean of the epoch's batches so far, not the last "
                       "batch's loss (since TensorFlow 2.2, and in Keras 3)."),
                     _("look at the last running mean of each epoch in the lesson's check: which number is it?"))
    raise _wrong(_("the difference of two running means is not a loss: the mean of 3 batches minus the mean of 2."),
                 _("turn each mean back into a sum first: a mean over n batches times n."))


def _regression_data(samples: int, bias: float):
    x = np.random.default_rng(0).normal(size=(samples, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + bias).astype("float32")[:, None]


def _check_mae_batches(metric, hint: str) -> None:
    """Exercise 05.2, step 1: two batches of different sizes weigh every value equally; reset starts over."""
    small_true, small_pred = np.zeros((2, 5), "float32"), np.ones((2, 5), "float32")
    big_true, big_pred = np.zeros((6, 5), "float32"), np.full((6, 5), 3.0, "float32")
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    _run("update_state", hint, metric.update_state, big_true, big_pred)
    value = _run("result()", hint, lambda: float(keras.ops.convert_to_numpy(metric.result())))
    if math.isclose(value, 2.0, rel_tol=1e-5):
        raise _wrong(_("after batches of 10 values (error 1) and 30 values (error 3) your result is 2.0000, the mean "
                       "of the two batch means; the mean over all 40 values is 2.5000."),
                     _("weight each batch by its size: keep a sum of errors and a count of values."))
    if not math.isclose(value, 2.5, rel_tol=1e-5):
        raise _wrong(_("after batches of 10 values (error 1) and 30 values (error 3) your result is {value:.4f}, "
                       "not 2.5000.").format(value=value), hint)
    _run("reset_state()", hint, metric.reset_state)
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    after = _run("result()", hint, lambda: float(keras.ops.convert_to_numpy(metric.result())))
    if not math.isclose(after, 1.0, rel_tol=1e-5):
        raise _wrong(_("after reset_state() and one batch with error 1, your result is {after:.4f}, not 1.0000.")
                     .format(after=after), _("reset_state() must set the sum and the count back to 0 (assign(0.0))."))


@_exercise("05.2", "coding", "A custom metric: mean absolute error")
def check_05_mae_metric(answer=...):
    """Coding: ``class MAEMetric(keras.metrics.Metric)``, named ``"mae"`` by default: the mean
    absolute error over all values seen since the last reset.

    Args:
        answer: the class ``MAEMetric``.

    Example::

        exercises.check_05_mae_metric(MAEMetric)
    """
    cls = _learner_class(answer, keras.metrics.Metric, "MAEMetric", "keras.metrics.Metric")
    hint = _("in __init__, add_weight a running sum and a count (initializer='zeros'); update_state adds "
             "sum(|y_true - y_pred|) and the number of values; result() divides.")
    metric = _run("`MAEMetric()`", _("def __init__(self, name='mae', **kwargs): super().__init__(name=name, "
                                     "**kwargs)."), cls)
    if metric.name != "mae":
        raise _wrong(_("MAEMetric() is named {name!r}.").format(name=metric.name),
                     _("give __init__ a default: name='mae'."))
    _check_mae_batches(metric, hint)
    x, y = _regression_data(96, 0.1)  # evaluate() in batches of 40, 40 and 16
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(loss="mse", metrics=[cls()])
    got = _run(_("evaluate() with your metric"), hint, model.evaluate, x, y, batch_size=40, verbose=0, return_dict=True)
    expected = float(np.mean(np.abs(y - keras.ops.convert_to_numpy(model.predict(x, verbose=0)))))
    if not math.isclose(float(got.get("mae", math.nan)), expected, rel_tol=1e-4):
        raise _wrong(_("evaluate() reported mae={mae!r}, NumPy says {expected:.4f}.").format(
            mae=got.get("mae"), expected=expected), hint)
    raise _correct(_("your metric weighs every value equally (2.5000), resets, and works in evaluate()."))


@_exercise("05.3", "coding", "A callback that records epoch losses and batch counts")
def check_05_epoch_recorder(answer=...):
    """Coding: ``class EpochRecorder(keras.callbacks.Callback)`` that records each epoch's
    loss in ``self.epoch_losses`` and its number of training batches in ``self.batches``.

    Args:
        answer: the class ``EpochRecorder``.

    Example::

        exercises.check_05_epoch_recorder(EpochRecorder)
    """
    cls = _learner_class(answer, keras.callbacks.Callback, "EpochRecorder", "keras.callbacks.Callback")
    hint = _("start the lists in on_train_begin; count in on_epoch_begin/on_train_batch_end; append in on_epoch_end.")
    recorder = _run("`EpochRecorder()`", _("call super().__init__() in your __init__."), cls)
    keras.utils.set_random_seed(0)
    x, y = _core._classification_data(128)
    model = _core._tiny_model()
    history = _run(_("fit() with your callback"), hint, model.fit, x[:96], y[:96], validation_data=(x[96:], y[96:]),
                   epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    for name in ("epoch_losses", "batches"):
        if not hasattr(recorder, name):
            raise _wrong(_("your callback has no attribute `{name}` after training.").format(name=name), hint)
    losses, batches = list(recorder.epoch_losses), list(recorder.batches)
    if len(losses) != 3 or not np.allclose([float(v) for v in losses], history.history["loss"], rtol=1e-6):
        raise _wrong(_("epoch_losses is {losses}, but fit() logged {logged}.").format(
            losses=_core._fmt([float(v) for v in losses]), logged=_core._fmt(history.history["loss"])),
            _("append float(logs['loss']) once per epoch."))
    if [int(b) for b in batches] != [3, 3, 3]:
        why = (_("the count must restart every epoch (on_epoch_begin).") if [int(b) for b in batches] == [3, 6, 9]
               else _("count only training batches (on_train_batch_end), not validation ones."))
        raise _wrong(_("batches is {batches}; 96 samples in batches of 32 make 3 batches per epoch.").format(
            batches=batches), why)
    raise _correct(_("your callback recorded the 3 epoch losses exactly as History did, and 3 training batches each."))


def _check_train_step(cls) -> _core._Verdict:
    hint_init = _("don't override __init__, or write `def __init__(self, *args, **kwargs): super().__init__(...)`.")
    x, y = _regression_data(128, 0.5)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = _run("`MAEModel(inputs, outputs)`", hint_init, cls, inputs, keras.layers.Dense(1)(inputs))
    hint = _("forward pass under tf.GradientTape, self.compute_loss(x=..., y=..., y_pred=...), apply the gradients, "
             "update every metric in self.metrics, among them an MAE tracker created in __init__.")
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = _run(_("fit() with your train_step"), hint, model.fit, x, y, epochs=2, shuffle=False, verbose=0)
    for name in ("mae", "loss"):
        if name not in history.history:
            raise _wrong(_("fit() logged {logged}, no {name!r}.").format(logged=sorted(history.history), name=name),
                         hint)
    predictions = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    mae, mse = float(np.mean(np.abs(y - predictions))), float(np.mean((y - predictions) ** 2))
    got_mae, got_loss = history.history["mae"][-1], history.history["loss"][-1]
    if not math.isclose(got_mae, mae, rel_tol=1e-4):
        raise _wrong(_("with a learning rate of 0 (fixed weights) your 'mae' was {got:.4f}, not {mae:.4f}.").format(
            got=got_mae, mae=mae), _("update an MAE metric with (targets, predictions) on every batch; list it in "
                                     "`metrics`."))
    if not math.isclose(got_loss, mse, rel_tol=1e-4):
        raise _wrong(_("with a learning rate of 0 your 'loss' was {got:.4f}, but the epoch's mean is {mse:.4f}.")
                     .format(got=got_loss, mse=mse),
                     _("feed the loss to the metric named 'loss' in self.metrics; return its result(), not the last "
                       "batch's loss."))
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = _run(_("fit() with your train_step"), hint, model.fit, x, y, epochs=3, shuffle=False, verbose=0)
    if all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)):
        raise _wrong(_("after 3 epochs at a learning rate of 0.05 the weights have not changed."),
                     _("compute the gradients with tape.gradient and let self.optimizer apply them."))
    if not history.history["loss"][-1] < history.history["loss"][0]:
        raise _wrong(_("the loss did not go down in 3 epochs of training."), hint)
    return _correct(_("fit() with your train_step logs 'loss' and 'mae' as NumPy computes them, and it trains."))


@_exercise("05.4", "coding", "A train_step that also tracks MAE")
def check_05_train_step_mae(answer=...):
    """Coding: ``class MAEModel(keras.Model)`` whose own ``train_step`` makes ``fit()`` also
    report ``"mae"``, the epoch's mean absolute error. TensorFlow backend only.

    Args:
        answer: the class ``MAEModel``.

    Example::

        exercises.check_05_train_step_mae(MAEModel)
    """
    cls = _learner_class(answer, keras.Model, "MAEModel", "keras.Model")
    _core._backend_is_tensorflow(_("this exercise (tf.GradientTape)"))
    if "train_step" not in _core._own_functions(cls, keras.Model):
        raise _wrong(_("`MAEModel` does not override train_step."), _("def train_step(self, data): ..."))
    raise _check_train_step(cls)
