"""Checkers of lesson 08's exercises (one training step on two backends); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import math

import keras
import numpy as np

from keraslab.exercises._core import _choice, _classification_data, _correct, _exercise, _learner_function, _run, _wrong
from keraslab.i18n import translator

__all__ = ["check_08_block_until_ready", "check_08_stateless_loss", "check_08_different_losses"]

_ABC = {"a": "a", "b": "b", "c": "c"}
_ = translator("lesson08")


@_exercise("08.1", "question", "Stopping the clock on JAX")
def check_08_block_until_ready(answer=...):
    """Question: what would the time per step measure without ``jax.block_until_ready``?

    Args:
        answer: ``"a"``, ``"b"`` or ``"c"``.

    Example::

        exercises.check_08_block_until_ready("a")
    """
    choice = _choice(answer, _ABC)
    if choice == "b":
        raise _correct(_("JAX dispatches work asynchronously: a jitted call returns at once with arrays still being "
                         "computed, so only block_until_ready makes the clock wait for the last step."))
    if choice == "a":
        raise _wrong(_("a jitted JAX call does not wait for its result."),
                     _("what does a call return when JAX queues the computation and goes on (asynchronous "
                       "dispatch)?"))
    raise _wrong(_("the script copies the weights back itself, with variable.assign(value)."),
                 _("block_until_ready only waits; think about when the clock stops without it."))


def _batch_norm_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="softmax")])
    model(np.zeros((2, 4), "float32"))
    return model


def _values(variables) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


@_exercise("08.2", "coding", "A stateless forward pass")
def check_08_stateless_loss(answer=...):
    """Coding: ``stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets)``.

    The check calls it on a small model with a ``BatchNormalization`` layer, with the
    model's own variables and with others.

    Args:
        answer: the function ``stateless_loss``.

    Example::

        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            ...  # your code here

        exercises.check_08_stateless_loss(stateless_loss)
    """
    fn = _learner_function(answer, "stateless_loss")
    hint = _("predictions, non_trainable_variables = model.stateless_call(trainable_variables, "
             "non_trainable_variables, inputs, training=True); then the loss; return both.")
    model = _batch_norm_model()
    x, y = _classification_data(64)
    own = _values(model.trainable_variables), _values(model.non_trainable_variables)
    result = _run("stateless_loss(...)", hint, fn, model, own[0], own[1], x, y)
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise _wrong(_("stateless_loss returned {type}, not a pair.").format(type=type(result).__name__),
                     _("return (loss, non_trainable_variables), as compute_loss_and_updates does."))
    loss, new_non_trainable = result
    if any(not np.array_equal(a, b) for a, b in zip(_values(model.trainable_variables), own[0], strict=True)) or any(
            not np.array_equal(a, b) for a, b in zip(_values(model.non_trainable_variables), own[1], strict=True)):
        raise _wrong(_("the model's own variables changed: a stateless function leaves them alone."), hint)
    expected = float(keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True)))
    if not math.isclose(float(keras.ops.convert_to_numpy(loss)), expected, rel_tol=1e-4):
        raise _wrong(_("with the model's own variables your loss is {loss:.4f}; the sparse categorical "
                       "cross-entropy in training mode is {expected:.4f}.").format(
                           loss=float(keras.ops.convert_to_numpy(loss)), expected=expected), hint)
    moved = [not np.allclose(a, b) for a, b in zip(_values(new_non_trainable), own[1], strict=True)]
    if not any(moved):
        raise _wrong(_("the non-trainable variables you returned are the ones you were given: BatchNormalization's "
                       "moving mean did not move."), _("run the forward pass in training mode (training=True)."))
    zeros = [np.zeros_like(v) for v in own[0]]
    loss_zero, _unused = _run(_("stateless_loss(...) with zero weights"), hint, fn, model, zeros, own[1], x, y)
    loss_zero = float(keras.ops.convert_to_numpy(loss_zero))
    if not math.isclose(loss_zero, math.log(3), rel_tol=1e-4):
        raise _wrong(_("with all trainable variables set to 0 your loss is {loss:.4f}; a model of zeros predicts "
                       "1/3 for each class, a loss of ln 3 = {ln3:.4f}. Your function ignores the values "
                       "it was given.").format(loss=loss_zero, ln3=math.log(3)),
                     _("use model.stateless_call(trainable_variables, ...), not model(inputs)."))
    raise _correct(_("your function runs the model on the variables it is given, returns the loss and the updated "
                     "non-trainable variables, and leaves the model's own variables untouched."))


@_exercise("08.3", "question", "Same start, different losses")
def check_08_different_losses(answer=...):
    """Question: why do the two backends' losses differ a little after 100 steps?

    Args:
        answer: ``"a"``, ``"b"`` or ``"c"``.

    Example::

        exercises.check_08_different_losses("a")
    """
    choice = _choice(answer, _ABC)
    if choice == "b":
        raise _correct(_("Dropout(0.5) zeroes random units in every training step, and each backend draws its own "
                         "random numbers; with a dropout rate of 0 the two losses agree to about 1e-7."))
    if choice == "a":
        raise _wrong(_("both sides loaded the same initial.weights.h5."),
                     _("look at the first row of the side-by-side table."))
    raise _wrong(_("Keras uses 32-bit floats on both backends by default (keras.config.floatx())."),
                 _("which layer of get_mnist_model() behaves randomly during training?"))
