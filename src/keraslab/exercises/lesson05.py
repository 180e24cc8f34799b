"""Checkers of lesson 05's exercises (custom training loops); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

import keras
import numpy as np

from keraslab.exercises._core import (
    _backend_is_tensorflow,
    _choice,
    _classification_data,
    _correct,
    _exercise,
    _fmt,
    _learner_class,
    _own_functions,
    _run,
    _tiny_model,
    _Verdict,
    _wrong,
)

__all__ = ["check_05_batch_logs", "check_05_mae_metric", "check_05_epoch_recorder", "check_05_train_step_mae"]


_BATCH_LOG_CHOICES = {"a": "a", "b": "b"}


@_exercise("05.1", "question", "What is logs['loss'] in on_train_batch_end?")
def check_05_batch_logs(answer=...):
    """Question: in Keras 3, what does ``logs["loss"]`` hold in a callback's
    ``on_train_batch_end(batch, logs)``? (a) the loss of that batch alone;
    (b) the mean loss of the epoch's batches so far.

    Args:
        answer: ``"a"`` or ``"b"``.

    Example:

    >>> check_05_batch_logs("b")
    ✅ Correct: Keras 3 reports the running mean of the epoch so far, so the last batch's value is the epoch's loss.
    True
    """
    choice = _choice(answer, _BATCH_LOG_CHOICES)
    if choice == "b":
        raise _correct("Keras 3 reports the running mean of the epoch so far, so the last batch's value is the "
                       "epoch's loss.")
    raise _wrong("that was Keras 2 (tf.keras) behaviour for batch logs.",
                 "lesson 05's LossHistory plots show a smooth, settling curve: what kind of value gives that?")


def _metric_result(metric) -> float:
    return float(keras.ops.convert_to_numpy(metric.result()))


def _check_mae_batches(metric, hint: str) -> None:
    """Exercise 05.2, step 1: two batches of different sizes weigh every value equally; reset starts over."""
    small_true, small_pred = np.zeros((2, 5), "float32"), np.ones((2, 5), "float32")
    big_true, big_pred = np.zeros((6, 5), "float32"), np.full((6, 5), 3.0, "float32")
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    _run("update_state", hint, metric.update_state, big_true, big_pred)
    value = _run("result()", hint, _metric_result, metric)
    if math.isclose(value, 2.0, rel_tol=1e-5):
        raise _wrong("after batches of 10 values (error 1) and 30 values (error 3) your result is 2.0000, the mean of "
                     "the two batch means; the mean over all 40 values is 2.5000.",
                     "weight each batch by its size: keep a sum of errors and a count of values.")
    if not math.isclose(value, 2.5, rel_tol=1e-5):
        raise _wrong(f"after batches of 10 values (error 1) and 30 values (error 3) your result is {value:.4f}, "
                     "not 2.5000.", hint)
    _run("reset_state()", hint, metric.reset_state)
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    after = _run("result()", hint, _metric_result, metric)
    if not math.isclose(after, 1.0, rel_tol=1e-5):
        raise _wrong(f"after reset_state() and one batch with error 1, your result is {after:.4f}, not 1.0000.",
                     "reset_state() must set the sum and the count back to 0 (assign(0.0)).")


def _check_mae_in_evaluate(cls, hint: str) -> None:
    """Exercise 05.2, step 2: ``evaluate()`` with the metric reports the MAE NumPy computes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + 0.1).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[cls()])
    results = _run("evaluate() with your metric", hint, model.evaluate, x, y, batch_size=40, verbose=0,
                   return_dict=True)
    expected = float(np.mean(np.abs(y - keras.ops.convert_to_numpy(model.predict(x, verbose=0)))))
    if "mae" not in results or not math.isclose(float(results["mae"]), expected, rel_tol=1e-4):
        raise _wrong(f"evaluate() reported mae={results.get('mae')!r}, NumPy says {expected:.4f} (batches of 40, 40 "
                     "and 16 samples).", hint)


@_exercise("05.2", "coding", "A custom metric: mean absolute error")
def check_05_mae_metric(answer=...):
    """Coding: ``class MAEMetric(keras.metrics.Metric)`` with default name ``"mae"``:
    ``update_state(y_true, y_pred, sample_weight=None)`` adds up absolute errors and
    counts values, ``result()`` returns their mean over *all* batches so far, and
    ``reset_state()`` starts over.

    The check feeds two batches of different sizes, compares with NumPy, resets,
    then uses the metric in ``compile`` and ``evaluate``.

    Args:
        answer: the class ``MAEMetric``.

    Example::

        class MAEMetric(keras.metrics.Metric):
            ...  # your code here

        exercises.check_05_mae_metric(MAEMetric)
    """
    cls = _learner_class(answer, keras.metrics.Metric, "MAEMetric", "keras.metrics.Metric")
    hint = ("in __init__, add_weight a running sum and a count (initializer='zeros'); update_state adds "
            "sum(|y_true - y_pred|) and the number of values; result() divides.")
    metric = _run("`MAEMetric()`", "def __init__(self, name='mae', **kwargs): super().__init__(name=name, **kwargs).",
                  cls)
    if metric.name != "mae":
        raise _wrong(f"MAEMetric() is named {metric.name!r}.", "give __init__ a default: name='mae'.")
    _check_mae_batches(metric, hint)
    _check_mae_in_evaluate(cls, hint)
    raise _correct("your metric weights every value equally across batches (2.5000), resets to a fresh start, and "
                   "evaluate() reports the same MAE as NumPy.")


@_exercise("05.3", "coding", "A callback that records epoch losses and batch counts")
def check_05_epoch_recorder(answer=...):
    """Coding: ``class EpochRecorder(keras.callbacks.Callback)`` that keeps, in
    ``self.epoch_losses``, the loss of every epoch (``logs["loss"]`` at the epoch's
    end) and, in ``self.batches``, how many training batches each epoch ran.

    The check trains a tiny model for 3 epochs on 96 samples in batches of 32
    (with validation data) and compares with ``history.history["loss"]`` and [3, 3, 3].

    Args:
        answer: the class ``EpochRecorder``.

    Example::

        class EpochRecorder(keras.callbacks.Callback):
            ...  # your code here

        exercises.check_05_epoch_recorder(EpochRecorder)
    """
    cls = _learner_class(answer, keras.callbacks.Callback, "EpochRecorder", "keras.callbacks.Callback")
    hint = ("start the lists in on_train_begin; count in on_epoch_begin/on_train_batch_end; append logs['loss'] "
            "in on_epoch_end.")
    recorder = _run("`EpochRecorder()`", "call super().__init__() in your __init__.", cls)
    keras.utils.set_random_seed(0)
    x, y = _classification_data(128)
    model = _tiny_model()
    history = _run("fit() with your callback", hint, model.fit, x[:96], y[:96], validation_data=(x[96:], y[96:]),
                   epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    for name in ("epoch_losses", "batches"):
        if not hasattr(recorder, name):
            raise _wrong(f"your callback has no attribute `{name}` after training.", hint)
    losses, batches = list(recorder.epoch_losses), list(recorder.batches)
    if len(losses) != 3 or not np.allclose([float(v) for v in losses], history.history["loss"], rtol=1e-6):
        raise _wrong(f"epoch_losses is {_fmt([float(v) for v in losses])}, but fit() logged "
                     f"{_fmt(history.history['loss'])}.", "append float(logs['loss']) once per epoch, in on_epoch_end.")
    if [int(b) for b in batches] != [3, 3, 3]:
        why = ("the count must restart every epoch (on_epoch_begin)." if [int(b) for b in batches] == [3, 6, 9]
               else "count only training batches (on_train_batch_end), not validation ones.")
        raise _wrong(f"batches is {batches}; 96 samples in batches of 32 make 3 batches per epoch.", why)
    raise _correct("your callback recorded the 3 epoch losses exactly as History did, and 3 training batches per "
                   "epoch.")


def _check_train_step(cls) -> _Verdict:
    hint_init = ("don't override __init__, or write "
                 "`def __init__(self, *args, **kwargs): super().__init__(*args, **kwargs)`.")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + 0.5).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = _run("`MAEModel(inputs, outputs)`", hint_init, cls, inputs, keras.layers.Dense(1)(inputs))
    hint = ("in train_step: forward pass under tf.GradientTape, loss = self.compute_loss(x=..., y=..., y_pred=...), "
            "apply_gradients, update every metric in self.metrics, and also an MAE tracker (e.g. "
            "keras.metrics.MeanAbsoluteError(name='mae') created in __init__).")
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = _run("fit() with your train_step", hint, model.fit, x, y, epochs=2, batch_size=32, shuffle=False,
                   verbose=0)
    logged = sorted(history.history)
    if "mae" not in history.history:
        raise _wrong(f"fit() logged {logged}, no 'mae'.", hint)
    if "loss" not in history.history:
        raise _wrong(f"fit() logged {logged}, no 'loss'.", "return the loss tracker's result under 'loss' too.")
    predictions = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    mae, mse = float(np.mean(np.abs(y - predictions))), float(np.mean((y - predictions) ** 2))
    got_mae, got_loss = history.history["mae"][-1], history.history["loss"][-1]
    if not math.isclose(got_mae, mae, rel_tol=1e-4):
        raise _wrong(f"with a learning rate of 0 (the weights never change) your 'mae' was {got_mae:.4f}; the mean "
                     f"absolute error of the model is {mae:.4f}.",
                     "update an MAE metric with (targets, predictions) on every batch and return its result(); "
                     "list it in `metrics` so fit() resets it every epoch.")
    if not math.isclose(got_loss, mse, rel_tol=1e-4):
        raise _wrong(f"with a learning rate of 0 your 'loss' was {got_loss:.4f}, but the mean squared error over the "
                     f"epoch is {mse:.4f}.", "feed the loss to the loss tracker (the metric named 'loss' in "
                     "self.metrics) and return its result(), not the last batch's loss.")
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = _run("fit() with your train_step", hint, model.fit, x, y, epochs=3, batch_size=32, shuffle=False,
                   verbose=0)
    if all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)):
        raise _wrong("after 3 epochs at a learning rate of 0.05 the weights have not changed.",
                     "compute the gradients with tape.gradient and call "
                     "self.optimizer.apply_gradients(zip(gradients, self.trainable_weights)).")
    if not history.history["loss"][-1] < history.history["loss"][0]:
        raise _wrong("the loss did not go down in 3 epochs of training.", hint)
    return _correct("fit() with your train_step logs 'loss' and 'mae' that match NumPy exactly (at a learning rate "
                    "of 0), and it trains: the loss went down in 3 epochs.")


@_exercise("05.4", "coding", "A train_step that also tracks MAE")
def check_05_train_step_mae(answer=...):
    """Coding: ``class MAEModel(keras.Model)`` overriding ``train_step`` (with
    ``tf.GradientTape``, ``self.compute_loss`` and ``self.metrics``) so that ``fit()``
    also reports ``"mae"``, the mean absolute error of the epoch.

    The check builds ``MAEModel(inputs, outputs)`` for a 4 -> 1 regression, trains it
    with a learning rate of 0 (fixed weights: 'loss' and 'mae' must match NumPy
    exactly), then at 0.05 (the weights must change, the loss go down).
    TensorFlow backend only.

    Args:
        answer: the class ``MAEModel``.

    Example::

        class MAEModel(keras.Model):
            ...  # your code here

        exercises.check_05_train_step_mae(MAEModel)
    """
    cls = _learner_class(answer, keras.Model, "MAEModel", "keras.Model")
    _backend_is_tensorflow("this exercise (tf.GradientTape)")
    if "train_step" not in _own_functions(cls, keras.Model):
        raise _wrong("`MAEModel` does not override train_step.", "def train_step(self, data): ...")
    raise _check_train_step(cls)


# =========================================================================== lesson 06
