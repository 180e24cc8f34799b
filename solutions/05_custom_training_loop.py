"""Solutions to the exercises (확인 문제) of lesson 05, notebooks/05_custom_training_loop.ipynb.

Run ``python solutions/05_custom_training_loop.py`` to check them all (TensorFlow backend).
"""

import keras
import tensorflow as tf

# 05.1: logs["loss"] after batch + 1 batches is their mean, so (batch + 1) * mean is their sum; subtracting
# the sum before it, batch * previous, leaves this batch's own loss.
batch_loss_answer = "b"


# 05.2
class MAEMetric(keras.metrics.Metric):
    """Mean absolute error over every value seen since the last reset_state()."""

    def __init__(self, name="mae", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "float32")
        y_pred = keras.ops.cast(y_pred, "float32")
        errors = keras.ops.abs(y_true - y_pred)
        self.total.assign_add(keras.ops.sum(errors))
        self.count.assign_add(keras.ops.cast(keras.ops.size(errors), "float32"))

    def result(self):
        return self.total / keras.ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


# 05.3
class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's loss and how many training batches it ran."""

    def on_train_begin(self, logs=None):
        self.epoch_losses = []
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_losses.append(float(logs["loss"]))


# 05.4
class MAEModel(keras.Model):
    """fit() with a train_step of our own that also reports the mean absolute error ('mae')."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mae_tracker = keras.metrics.MeanAbsoluteError(name="mae")

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        for metric in self.metrics:  # Keras's loss tracker, the compiled metrics and our MAE tracker
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(targets, predictions)
        return {m.name: m.result() for m in self.metrics}


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_05_batch_logs(batch_loss_answer)
    exercises.check_05_mae_metric(MAEMetric)
    exercises.check_05_epoch_recorder(EpochRecorder)
    exercises.check_05_train_step_mae(MAEModel)
