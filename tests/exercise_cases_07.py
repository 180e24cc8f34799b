"""Exercise cases of lesson 07: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "07.1": ("07_distributed_training", "global_batch", "global_batch = ...  # a whole number"),
    "07.2": ("07_distributed_training", "lr_scale", "lr_scale = ...  # a number"),
    "07.3": ("07_distributed_training", "make_model",
             "def make_model(strategy):\n    ...  # your code here: return the compiled model"),
    "07.4": ("07_distributed_training", "average_loss",
             "def average_loss(per_example_losses, global_batch_size):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "07.1": [("global_batch = 64", "batch of one replica"), ("global_batch = 16", "multiply")],
    "07.2": [("lr_scale = 4", "undo"), ("lr_scale = 0.5", "2 replicas"), ("lr_scale = 1", "not right"),
             ("lr_scale = 2", "does not give")],
    "07.3": [
        ("""
        from keraslab.models import get_mnist_model
        def make_model(strategy):
            model = get_mnist_model()
            with strategy.scope():
                model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
            return model
        """, "outside strategy.scope()"),
        ("""
        from keraslab.models import get_mnist_model
        def make_model(strategy):
            with strategy.scope():
                return get_mnist_model()
        """, "not compiled"),
    ],
    "07.4": [
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_mean(per_example_losses)
        """, "2.5"),
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_sum(per_example_losses)
        """, "not 1.25"),
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_sum(per_example_losses) / 8
        """, "inside strategy.run"),
    ],
}


def test_answer_07_2_matches_sgd():
    """A per-replica mean under 4 replicas, with SGD at lr x the answer, makes the correct update."""
    import numpy as np
    import tensorflow as tf
    from exercise_support import solutions

    scale = solutions("07_distributed_training")["lr_scale"]
    losses = tf.constant(np.arange(1.0, 17.0, dtype="float32"))  # a global batch of 16, 4 per replica
    weight = tf.Variable(1.0)
    with tf.GradientTape(persistent=True) as tape:
        per_replica_sum = sum(tf.reduce_mean(weight * shard) for shard in tf.split(losses, 4))
        correct = tf.reduce_mean(weight * losses)
    wrong_step = 0.1 * scale * tape.gradient(per_replica_sum, weight)
    right_step = 0.1 * tape.gradient(correct, weight)
    np.testing.assert_allclose(float(wrong_step), float(right_step), rtol=1e-6)
