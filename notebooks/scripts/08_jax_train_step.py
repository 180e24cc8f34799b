"""Lesson 08's JAX side: lesson 05's training step, written for JAX, run from the kernel's shared start.

Usage (the lesson runs it so; Keras picks its backend once per process)::

    KERAS_BACKEND=jax python notebooks/scripts/08_jax_train_step.py FOLDER

FOLDER holds ``initial.weights.h5`` and ``batches.npz``, written by the lesson's TensorFlow kernel.
The script writes ``jax_results.json`` there: the loss on those batches before and after one pass
of training steps, and the time per step (the fastest of 3 more passes).
"""

import json
import sys
import time
from pathlib import Path

import jax
import keras
import numpy as np

from keraslab.models import get_mnist_model

if keras.backend.backend() != "jax":
    sys.exit(f"Keras runs on {keras.backend.backend()}: run this script with KERAS_BACKEND=jax")
keras.utils.set_random_seed(42)  # the dropout masks repeat from run to run

folder = Path(sys.argv[1])
data = np.load(folder / "batches.npz")
images, labels = data["images"], data["labels"]
batches = [(jax.numpy.asarray(images[i : i + 32]), jax.numpy.asarray(labels[i : i + 32]))
           for i in range(0, len(images), 32)]

model = get_mnist_model()
model.load_weights(folder / "initial.weights.h5")  # the kernel's initial weights
loss_fn = keras.losses.SparseCategoricalCrossentropy()
optimizer = keras.optimizers.RMSprop()
optimizer.build(model.trainable_variables)


def compute_loss_and_updates(trainable_variables, non_trainable_variables, inputs, targets):
    # Forward pass with the variables given, not the model's own
    predictions, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, inputs, training=True
    )
    loss = loss_fn(targets, predictions)
    return loss, non_trainable_variables


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


@jax.jit
def train_step(state, inputs, targets):
    trainable_variables, non_trainable_variables, optimizer_variables = state
    # Compute the loss and the gradients
    (loss, non_trainable_variables), grads = grad_fn(trainable_variables, non_trainable_variables, inputs, targets)
    # Update the weights and the optimizer's variables
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables
    )
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables)


# The check: the loss on all the batches, before and after one pass of training steps
loss_before = float(loss_fn(labels, model(images, training=False)))
state = (
    [variable.value for variable in model.trainable_variables],
    [variable.value for variable in model.non_trainable_variables],
    [variable.value for variable in optimizer.variables],
)
for inputs, targets in batches:
    loss, state = train_step(state, inputs, targets)  # the first call compiles the step

# Write the final state back into the model's variables
trainable_variables, non_trainable_variables, optimizer_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables, strict=True):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables, strict=True):
    variable.assign(value)
loss_after = float(loss_fn(labels, model(images, training=False)))

# The time per step: the fastest of 3 more passes, in milliseconds
passes = []
for _ in range(3):
    start = time.perf_counter()
    for inputs, targets in batches:
        loss, state = train_step(state, inputs, targets)
    jax.block_until_ready(state)
    passes.append((time.perf_counter() - start) / len(batches) * 1000)

results = {"steps": len(batches), "loss_before": loss_before, "loss_after": loss_after, "step_ms": min(passes)}
(folder / "jax_results.json").write_text(json.dumps(results))
print("non-trainable variables:", [variable.path for variable in model.non_trainable_variables])
print(f"JAX loss before training: {loss_before:.4f}")
print(f"JAX loss after {len(batches)} steps: {loss_after:.4f}")
