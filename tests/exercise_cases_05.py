"""Exercise cases of lesson 05: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from exercise_support import solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def _mae_model_with(*edits: tuple[str, str]) -> str:
    """The source of solutions/05's ``MAEModel`` with each ``(old, new)`` edit applied (each must match)."""
    text = (SOLUTIONS / "05_custom_training_loop.py").read_text()
    source = text[text.index("class MAEModel(keras.Model):"):text.index('\n\nif __name__ == "__main__":')]
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return source


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "05.1": ("05_custom_training_loop", "batch_loss_answer", 'batch_loss_answer = ...  # "a", "b" or "c"'),
    "05.2": ("05_custom_training_loop", "MAEMetric",
             "class MAEMetric(keras.metrics.Metric):\n    ...  # your code here"),
    "05.3": ("05_custom_training_loop", "EpochRecorder",
             "class EpochRecorder(keras.callbacks.Callback):\n    ...  # your code here"),
    "05.4": ("05_custom_training_loop", "MAEModel", "class MAEModel(keras.Model):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "05.1": [('batch_loss_answer = "a"', "not the last batch's loss"), ('batch_loss_answer = "c"', "not a loss"),
             ('batch_loss_answer = "d"', "one of")],
    "05.2": [
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="mae", **kwargs):
                super().__init__(name=name, **kwargs)
                self.sum_of_means = self.add_weight(name="s", initializer="zeros")
                self.batches = self.add_weight(name="b", initializer="zeros")
            def update_state(self, y_true, y_pred, sample_weight=None):
                self.sum_of_means.assign_add(keras.ops.mean(keras.ops.abs(y_true - y_pred)))
                self.batches.assign_add(1.0)
            def result(self):
                return self.sum_of_means / self.batches
        """, "mean of the two batch means"),
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="mae", **kwargs):
                super().__init__(name=name, **kwargs)
                self.total = self.add_weight(name="t", initializer="zeros")
                self.count = self.add_weight(name="c", initializer="zeros")
            def update_state(self, y_true, y_pred, sample_weight=None):
                self.total.assign_add(keras.ops.sum(keras.ops.abs(y_true - y_pred)))
                self.count.assign_add(keras.ops.cast(keras.ops.size(y_true), "float32"))
            def result(self):
                return self.total / self.count
            def reset_state(self):
                pass
        """, "after reset_state()"),
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="my_mae", **kwargs):
                super().__init__(name=name, **kwargs)
        """, "is named 'my_mae'"),
    ],
    "05.3": [
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.epoch_losses, self.batches, self.count = [], [], 0
            def on_train_batch_end(self, batch, logs=None):
                self.count += 1
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["loss"])
                self.batches.append(self.count)
        """, "restart every epoch"),
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.epoch_losses, self.batches = [], []
            def on_epoch_begin(self, epoch, logs=None):
                self.batches.append(0)
            def on_train_batch_end(self, batch, logs=None):
                self.batches[-1] += 1
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["val_loss"])
        """, "epoch_losses is"),
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["loss"])
        """, "raised AttributeError"),
    ],
    "05.4": [  # the solution, each time with one mistake
        (_mae_model_with(("        with tf.GradientTape() as tape:\n", ""),
                         ("            predictions = self(", "        predictions = self("),
                         ("            loss = self.compute_loss(", "        loss = self.compute_loss("),
                         ("        gradients = tape.gradient(loss, self.trainable_weights)\n", ""),
                         ("        self.optimizer.apply_gradients("
                          "zip(gradients, self.trainable_weights, strict=True))\n", "")), "have not changed"),
        (_mae_model_with(('        self.mae_tracker = keras.metrics.MeanAbsoluteError(name="mae")\n', "")),
         "no 'mae'"),
        (_mae_model_with(('            if metric.name == "loss":\n                metric.update_state(loss)\n'
                          "            else:\n                metric.update_state(targets, predictions)",
                          '            if metric.name != "loss":  # the loss tracker is skipped\n'
                          "                metric.update_state(targets, predictions)"),
                         ("        return {m.name: m.result() for m in self.metrics}",
                          '        return {"loss": loss, "mae": self.mae_tracker.result()}')),
         "not the last batch's loss"),
    ],
}


def test_answer_05_1_recovers_each_batch_loss_from_the_running_means():
    """At a learning rate of 0 (fixed weights), answer (b) gives every batch's own loss; (a) and (c) do not."""
    class Means(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.means = []

        def on_train_batch_end(self, batch, logs=None):
            self.means.append(float(logs["loss"]))

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = x[:, :1] * 3
    recorder = Means()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    m = recorder.means
    own = [float(model.evaluate(x[i : i + 8], y[i : i + 8], verbose=0)) for i in range(0, 64, 8)]
    formula_b = [m[0]] + [(b + 1) * m[b] - b * m[b - 1] for b in range(1, len(m))]
    assert solutions("05_custom_training_loop")["batch_loss_answer"] == "b"
    np.testing.assert_allclose(formula_b, own, rtol=1e-4)
    assert not np.allclose(m, own, rtol=1e-2)  # (a): the running mean is not the batch's loss
