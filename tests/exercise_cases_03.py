"""Exercise cases of lesson 03: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from exercise_support import solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "03.1": ("03_fashion_mnist_dropout_early_stopping", "best_epoch", "best_epoch = ...  # a whole number"),
    "03.2": ("03_fashion_mnist_dropout_early_stopping", "kept_value", "kept_value = ...  # a number"),
    "03.3": ("03_fashion_mnist_dropout_early_stopping", "model_with_dropout",
             "def model_with_dropout(rate):\n    ...  # your code here: return the model"),
    "03.4": ("03_fashion_mnist_dropout_early_stopping", "make_callbacks",
             "def make_callbacks(folder):\n    ...  # your code here: return [checkpoint, early_stopping]"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "03.1": [("best_epoch = 8", "*training* loss"), ("best_epoch = 5", "validation loss 0.36")],
    "03.2": [("kept_value = 0.7", "share of values kept"), ("kept_value = 1.0", "inference")],
    "03.3": [
        ("""
        def model_with_dropout(rate):
            return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                     keras.layers.Dense(100, activation="relu"),
                                     keras.layers.Dense(10, activation="softmax"), keras.layers.Dropout(rate)])
        """, "not between"),
        ("""
        from keraslab.models import model_fn
        def model_with_dropout(rate):
            return model_fn()
        """, "no Dropout layer"),
        ("""
        from keraslab.models import model_fn
        def model_with_dropout(rate):
            return model_fn(keras.layers.Dropout(0.3))
        """, "model_with_dropout(0.5)"),
    ],
    "03.4": [
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.ModelCheckpoint(os.path.join(folder, "best-model.keras"), save_best_only=True),
                    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)]
        """, "restore_best_weights=True"),
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.ModelCheckpoint(os.path.join(folder, "best-model.keras"), save_best_only=True),
                    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)]
        """, "never stopped"),
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)]
        """, "0 ModelCheckpoint"),
    ],
}



def test_answer_03_2_matches_dropout():
    out = keras.ops.convert_to_numpy(keras.layers.Dropout(0.3, seed=1)(np.ones((100, 10), "float32"), training=True))
    kept = np.unique(out[out != 0])
    np.testing.assert_allclose(kept, solutions("03_fashion_mnist_dropout_early_stopping")["kept_value"], rtol=1e-6)
