"""Solutions to the exercises (확인 문제) of lesson 01, notebooks/01_iris_checkpoint.ipynb.

Run ``python solutions/01_iris_checkpoint.py`` to check them all.
"""

import os

import keras

# 01.1: the best val_accuracy (0.85) is at epoch 3; epochs 4, 5 and 6 do not beat it.
stop_epoch = 6

# 01.2: only epochs that beat the best so far write a file; {epoch} is 1-based.
checkpoint_files = ["model-01-0.7083.keras", "model-03-0.9167.keras", "model-05-1.0000.keras"]


# 01.3
class StopAtAccuracy(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose val_accuracy reaches `target`."""

    def __init__(self, target=0.97):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_accuracy")
        if value is not None and value >= self.target:
            self.model.stop_training = True


# 01.4
def make_checkpoint(folder):
    """A checkpoint that keeps only the best whole model by validation accuracy."""
    return keras.callbacks.ModelCheckpoint(
        os.path.join(folder, "best.keras"), monitor="val_accuracy", save_best_only=True
    )


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_01_stop_epoch(stop_epoch)
    exercises.check_01_checkpoint_files(checkpoint_files)
    exercises.check_01_stop_at_accuracy(StopAtAccuracy)
    exercises.check_01_best_checkpoint(make_checkpoint)
