"""Exercise cases of lesson 01: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
from exercise_support import _scripted, solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "01.1": ("01_iris_checkpoint", "stop_epoch", "stop_epoch = ...  # a whole number"),
    "01.2": ("01_iris_checkpoint", "checkpoint_files", "checkpoint_files = ...  # a list of file names"),
    "01.3": ("01_iris_checkpoint", "StopAtAccuracy",
             "class StopAtAccuracy(keras.callbacks.Callback):\n    ...  # your code here"),
    "01.4": ("01_iris_checkpoint", "make_checkpoint",
             "def make_checkpoint(folder):\n    ...  # your code here: return a keras.callbacks.ModelCheckpoint"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "01.1": [("stop_epoch = 7", "strictly better"), ("stop_epoch = 5", "counts from 0"),
             ("stop_epoch = 'six'", "not a whole number"), ("stop_epoch = 3", "the best epoch")],
    "01.2": [
        ('checkpoint_files = ["model-01-0.7083.keras", "model-02-0.7083.keras", "model-03-0.9167.keras", '
         '"model-05-1.0000.keras"]', "epoch 2 writes no file"),
        ('checkpoint_files = ["model-00-0.7083.keras", "model-02-0.9167.keras", "model-04-1.0000.keras"]', "1-based"),
    ],
    "01.3": [
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.9:
                    self.model.stop_training = True
        """, "stopped at epoch 2, when val_accuracy was 0.91 (< 0.97)"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def __init__(self, target=0.97):
                super().__init__()
                self.target = target
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] > self.target:
                    self.model.stop_training = True
        """, "one epoch late"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def __init__(self, target=0.97):
                super().__init__()
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.97:
                    self.model.stop_training = True
        """, "with StopAtAccuracy(target=0.9)"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.97:
                    self.stop_training = True
        """, "never stopped"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs.val_accuracy >= 0.97:
                    self.model.stop_training = True
        """, "raised AttributeError"),
    ],
    "01.4": [
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_accuracy",
                                                   mode="min", save_best_only=True)
        """, "saved at epochs [1]"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.h5"), monitor="val_accuracy",
                                                   save_best_only=True)
        """, "legacy"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), save_best_only=True)
        """, "monitors 'val_loss'"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_accuracy")
        """, "save_best_only=True"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.weights.h5"), monitor="val_accuracy",
                                                   save_weights_only=True, save_best_only=True)
        """, "does not end in .keras"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.EarlyStopping(monitor="val_accuracy")
        """, "not a ModelCheckpoint"),
    ],
}



def test_answer_01_1_matches_early_stopping():
    stopper = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3, mode="max")
    values = [0.70, 0.80, 0.85, 0.85, 0.83, 0.84, 0.90, 0.92]
    assert _scripted(stopper, [{"val_accuracy": v} for v in values]) == solutions("01_iris_checkpoint")["stop_epoch"]
    assert stopper.stopped_epoch == 5



def test_answer_01_2_matches_model_checkpoint(tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "model-{epoch:02d}-{val_accuracy:.4f}.keras"), monitor="val_accuracy", mode="max",
        save_best_only=True,
    )
    _scripted(checkpoint, [{"val_accuracy": v} for v in [0.7083, 0.7083, 0.9167, 0.8750, 1.0000]])
    assert sorted(p.name for p in tmp_path.iterdir()) == solutions("01_iris_checkpoint")["checkpoint_files"]
