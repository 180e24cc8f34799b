"""Exercise cases of lesson 08: placeholders, solutions, wrong answers, answers checked against Keras and JAX."""

from __future__ import annotations

import time

import numpy as np
from exercise_support import solutions

# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "08.1": ("08_one_step_two_backends", "clock_answer", 'clock_answer = ...  # "a", "b" or "c"'),
    "08.2": ("08_one_step_two_backends", "stateless_loss",
             "def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):\n"
             "    ...  # your code here"),
    "08.3": ("08_one_step_two_backends", "different_losses_answer",
             'different_losses_answer = ...  # "a", "b" or "c"'),
}

_LOSS = "keras.losses.SparseCategoricalCrossentropy()(targets, predictions)"

# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "08.1": [('clock_answer = "a"', "does not wait"), ('clock_answer = "c"', "copies the weights back"),
             ('clock_answer = "d"', "one of")],
    "08.2": [
        (f"""
        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            predictions = model(inputs, training=True)
            return {_LOSS}, non_trainable_variables
        """, "own variables changed"),
        (f"""
        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            predictions, non_trainable_variables = model.stateless_call(
                trainable_variables, non_trainable_variables, inputs, training=False)
            return {_LOSS}, non_trainable_variables
        """, "your loss is"),
        (f"""
        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            predictions, non_trainable_variables = model.stateless_call(
                trainable_variables, non_trainable_variables, inputs, training=True)
            return {_LOSS}
        """, "not a pair"),
        (f"""
        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            predictions, _ = model.stateless_call(
                trainable_variables, non_trainable_variables, inputs, training=True)
            return {_LOSS}, non_trainable_variables
        """, "did not move"),
        (f"""
        def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
            own = [v.value for v in model.trainable_variables]
            predictions, non_trainable_variables = model.stateless_call(
                own, non_trainable_variables, inputs, training=True)
            return {_LOSS}, non_trainable_variables
        """, "ignores the values"),
    ],
    "08.3": [('different_losses_answer = "a"', "same initial.weights.h5"),
             ('different_losses_answer = "c"', "32-bit floats")],
}


def test_answer_08_1_jax_dispatches_asynchronously():
    """A jitted call returns before its result is ready; block_until_ready waits for it."""
    import jax

    assert solutions("08_one_step_two_backends")["clock_answer"] == "b"
    @jax.jit
    def step(a):
        for _ in range(20):
            a = a @ a / 600
        return a

    x = jax.numpy.ones((600, 600))
    jax.block_until_ready(step(x))  # compile first
    start = time.perf_counter()
    result = step(x)
    dispatched = time.perf_counter() - start
    jax.block_until_ready(result)
    finished = time.perf_counter() - start
    assert dispatched < finished / 2, (dispatched, finished)


def test_answer_08_3_floats_are_32_bit_on_every_backend():
    import keras

    assert solutions("08_one_step_two_backends")["different_losses_answer"] == "b"
    assert keras.config.floatx() == "float32"
    assert np.asarray(keras.ops.ones(2)).dtype == np.float32
