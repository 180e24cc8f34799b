"""Exercise cases of lesson 07: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "07.1": ("07_distributed_training", "global_batch", "global_batch = ...  # a whole number"),
    "07.2": ("07_distributed_training", "loss_factor", "loss_factor = ...  # a number"),
    "07.3": ("07_distributed_training", "make_model",
             "def make_model(strategy):\n    ...  # your code here: return the compiled model"),
    "07.4": ("07_distributed_training", "average_loss",
             "def average_loss(per_example_losses, global_batch_size):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "07.1": [("global_batch = 64", "batch of one replica"), ("global_batch = 16", "multiply")],
    "07.2": [("loss_factor = 1", "not right"), ("loss_factor = 0.5", "too large, not too small")],
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
