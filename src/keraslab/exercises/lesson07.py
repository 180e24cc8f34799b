"""Checkers of lesson 07's exercises (distributed training); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

import keras
import numpy as np

from keraslab.exercises._core import (
    _backend_is_tensorflow,
    _correct,
    _exercise,
    _learner_function,
    _number,
    _returned,
    _run,
    _unsolved,
    _whole,
    _wrong,
)
from keraslab.i18n import translator

_ = translator("lesson07")

__all__ = ["check_07_global_batch", "check_07_lr_scale", "check_07_model_in_scope", "check_07_average_loss"]


@_exercise("07.1", "question", "The global batch size")
def check_07_global_batch(answer=...):
    """Question: you train with ``MirroredStrategy`` on a machine with 4 GPUs and want
    64 samples per replica. What ``batch_size`` do you pass to ``fit()``?

    Args:
        answer: a whole number.

    Example::

        global_batch = ...  # your answer
        exercises.check_07_global_batch(global_batch)
    """
    size = _whole(answer)
    if size == 256:
        raise _correct(_("64 samples on each of 4 replicas make a global batch of 256 samples."))
    hints = {
        64: (_("64 is the batch of one replica."),
             _("fit() takes the global batch and splits it between the 4 replicas.")),
        16: (_("16 would give each replica 4 samples."), _("multiply, don't divide: global = per replica x replicas.")),
    }
    message, hint = hints.get(size, (_("{size} is not the global batch size.").format(size=size),
                                     _("the global batch is the batch per replica x the number of replicas.")))
    raise _wrong(message, hint)


@_exercise("07.2", "question", "Fix a per-replica mean loss with the learning rate")
def check_07_lr_scale(answer=...):
    """Question: a custom loop under a 4-replica strategy takes ``tf.reduce_mean`` of
    each replica's per-example losses and trains with plain SGD. By what factor must
    the learning rate be multiplied so that every update is the correct one?

    Args:
        answer: a number.

    Example::

        lr_scale = ...  # your answer
        exercises.check_07_lr_scale(lr_scale)
    """
    factor = _number(answer)
    if math.isclose(factor, 0.25):
        raise _correct(_("4 replicas' means add up to 4 times the global mean, so each SGD update is 4 times too "
                         "large; SGD's step is linear in the learning rate, so 1/4 of it cancels that."))
    hints = {
        4.0: (_("4 is how many times too large each update is; the learning rate must undo that."),
              _("multiply by the factor that cancels a 4 times too large gradient.")),
        0.5: (_("0.5 would fix 2 replicas, as in the lesson's check; this job has more."),
              _("count the replicas: 2 workers x 2 GPUs.")),
        1.0: (_("the updates are not right as they are."),
              _("summing the replicas' means adds up one mean per replica.")),
    }
    raise _wrong(*hints.get(factor, (
        _("a learning rate {factor:g} times as large does not give the correct updates.").format(factor=factor),
        _("how many times too large is the summed loss, and so the gradient?"))))


def _lesson_strategy():
    """A MirroredStrategy over the logical CPUs (lesson 07 makes two) or the default devices."""
    import tensorflow as tf

    cpus, gpus = tf.config.list_logical_devices("CPU"), tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy(None if gpus or len(cpus) < 2 else [d.name for d in cpus])


def _check_in_scope(fn):
    strategy = _lesson_strategy()
    hint = _("with strategy.scope(): model = get_mnist_model(); model.compile(...); then return model.")
    keras.utils.set_random_seed(0)
    model = _run("`make_model(strategy)`", hint, fn, strategy)
    model = _returned(model, "make_model(strategy)", _("the compiled model"))
    if not isinstance(model, keras.Model):
        raise _wrong(_("`make_model(strategy)` returned {type}, not a Keras model.").format(type=type(model).__name__),
                     hint)
    if not model.built or not model.weights:
        raise _wrong(_("your model has no weights yet."), _("start it with keras.Input(shape=(784,)), as "
                     "get_mnist_model() does, so its weights are created in the scope."))
    outside = [w.path for w in model.weights if not strategy.extended.variable_created_in_scope(w.value)]
    if outside:
        raise _wrong(_("{outside} of the model's {total} weights were created outside strategy.scope().").format(
            outside=len(outside), total=len(model.weights)),
            _("create (and compile) the model inside `with strategy.scope():`."))
    if not model.compiled:
        raise _wrong(_("your model is not compiled."),
                     _("compile it inside the scope, so the optimizer's state is mirrored."))
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64)
    history = _run(_("fit() under the strategy"), hint, model.fit, x, y, epochs=1,
                   batch_size=16 * strategy.num_replicas_in_sync, verbose=0)
    if not np.isfinite(history.history["loss"][0]):
        raise _wrong(_("training gave a non-finite loss."), hint)
    return _correct(_("every weight of your model is a mirrored variable created under strategy.scope(), it is "
                      "compiled, and fit() trained it with a global batch of 16 per replica."))


@_exercise("07.3", "coding", "Create and compile a model under strategy.scope()")
def check_07_model_in_scope(answer=...):
    """Coding: ``make_model(strategy)`` creates and compiles a classifier of 784-value
    inputs into 10 classes under ``strategy.scope()`` and returns it (TensorFlow only).

    Args:
        answer: the function ``make_model``.

    Example::

        exercises.check_07_model_in_scope(make_model)
    """
    fn = _learner_function(answer, "make_model")
    _backend_is_tensorflow(_("this exercise (tf.distribute)"))
    raise _check_in_scope(fn)


def _check_average_loss(fn):
    import tensorflow as tf

    hint = _("divide the sum of the replica's losses by the GLOBAL batch size: tf.nn.compute_average_loss(losses, "
             "global_batch_size=global_batch_size).")
    value = _run("`average_loss(losses, 8)`", hint, fn, tf.constant([1.0, 2.0, 3.0, 4.0]), 8)
    if value is None:
        raise _unsolved(_("`average_loss(...)` returned None: replace the `...` with your code and return the loss."))
    got = float(keras.ops.convert_to_numpy(value))
    if math.isclose(got, 2.5, rel_tol=1e-6):
        raise _wrong(_("for this replica's losses 1, 2, 3, 4 and a global batch of 8 you returned 2.5, the mean of "
                       "the replica's own 4 losses; its share of the global mean is (1+2+3+4) / 8 = 1.25."), hint)
    if not math.isclose(got, 1.25, rel_tol=1e-6):
        raise _wrong(_("for this replica's losses 1, 2, 3, 4 and a global batch of 8 you returned {got:g}, "
                       "not 1.25.").format(got=got), hint)
    strategy = _lesson_strategy()
    losses = np.arange(1, 6 * strategy.num_replicas_in_sync + 1, dtype="float32")  # a global batch other than 8
    dataset = tf.data.Dataset.from_tensor_slices(losses).batch(len(losses))
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))

    @tf.function
    def summed(per_replica):
        value = strategy.run(lambda shard: fn(shard, len(losses)), args=(per_replica,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    total = float(_run(_("`average_loss` inside strategy.run"), hint, summed, batch))
    if not math.isclose(total, float(losses.mean()), rel_tol=1e-5):
        raise _wrong(_("inside strategy.run, the replicas' losses summed to {total:g}, not to the global mean "
                       "{mean:g}.").format(total=total, mean=float(losses.mean())), hint)
    return _correct(_("each replica contributes sum / global batch size, so the summed replicas give the mean over "
                      "the global batch, under strategy.run too."))


@_exercise("07.4", "coding", "A replica's share of the loss")
def check_07_average_loss(answer=...):
    """Coding: ``average_loss(per_example_losses, global_batch_size)`` returns one
    replica's share of the mean loss over the *global* batch (TensorFlow only).

    Args:
        answer: the function ``average_loss``.

    Example::

        exercises.check_07_average_loss(average_loss)
    """
    fn = _learner_function(answer, "average_loss")
    _backend_is_tensorflow(_("this exercise (tf.distribute)"))
    raise _check_average_loss(fn)
