"""Solutions to the exercises (확인 문제) of lesson 08, notebooks/08_one_step_two_backends.ipynb.

Run ``python solutions/08_one_step_two_backends.py`` to check them all.
"""

import keras

# 08.1: a jitted JAX call returns before its result is computed (asynchronous dispatch), so without
# jax.block_until_ready the clock can stop while the last steps are still running.
clock_answer = "b"


# 08.2
def stateless_loss(model, trainable_variables, non_trainable_variables, inputs, targets):
    """The forward pass and the loss, on the variables given; the model's own variables stay untouched."""
    predictions, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, inputs, training=True
    )
    loss = keras.losses.SparseCategoricalCrossentropy()(targets, predictions)
    return loss, non_trainable_variables


# 08.3: Dropout(0.5) draws random masks in every training step, and each backend draws its own.
different_losses_answer = "b"


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_08_block_until_ready(clock_answer)
    exercises.check_08_stateless_loss(stateless_loss)
    exercises.check_08_different_losses(different_losses_answer)
