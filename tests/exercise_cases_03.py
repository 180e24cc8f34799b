"""Exercise cases of lesson 03: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from exercise_support import solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
ES = "early_stopping = keras.callbacks.EarlyStopping"  # the start of every 03.4 answer


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "03.1": ("03_fashion_mnist_dropout_early_stopping", "best_epoch", "best_epoch = ...  # a whole number"),
    "03.2": ("03_fashion_mnist_dropout_early_stopping", "kept_value", "kept_value = ...  # a number"),
    "03.3": ("03_fashion_mnist_dropout_early_stopping", "model_with_dropout",
             "def model_with_dropout(rate):\n    ...  # your code here: return the model"),
    "03.4": ("03_fashion_mnist_dropout_early_stopping", "early_stopping",
             "early_stopping = ...  # keras.callbacks.EarlyStopping(...)"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "03.1": [("best_epoch = 8", "*training* loss"), ("best_epoch = 5", "validation loss 0.36")],
    "03.2": [("kept_value = 3.0 * 0.75", "*divided*"), ("kept_value = 3.0", "inference"),
             ("kept_value = 1 / 0.7", "1 / (1 - rate)"), ("kept_value = 0", "*dropped*")],
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
        (ES + '(monitor="val_loss", patience=3, restore_best_weights=True)',
         "not the number the team judges"),
        (ES + '(monitor="accuracy", patience=3, restore_best_weights=True)',
         "*validation* accuracy"),
        (ES + '(monitor="val_acc", patience=3, restore_best_weights=True)',
         "does not log"),
        (ES + '(monitor="val_accuracy", mode="min", patience=3, '
         "restore_best_weights=True)", "mode='max'"),
        (ES + '(monitor="val_accuracy", patience=2, restore_best_weights=True)',
         "stopped after epoch 4, during a dip"),
        (ES + '(monitor="val_accuracy", patience=4, restore_best_weights=True)',
         "stopped after epoch 9"),
        (ES + '(monitor="val_accuracy", patience=3)', "restore_best_weights"),
        ("early_stopping = keras.callbacks.EarlyStopping", "not a keras.callbacks.EarlyStopping"),
    ],
}


def test_answer_03_2_matches_dropout():
    x = np.full((100, 10), 3.0, "float32")
    out = keras.ops.convert_to_numpy(keras.layers.Dropout(0.25, seed=1)(x, training=True))
    kept = np.unique(out[out != 0])
    np.testing.assert_allclose(kept, solutions("03_fashion_mnist_dropout_early_stopping")["kept_value"], rtol=1e-6)


def test_answer_03_4_matches_fit():
    """The solution of 03.4 in a real fit(): a callback that feeds the scripted val_accuracy into the logs."""
    from keraslab.exercises import lesson03

    class Scripted(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_accuracy"] = lesson03._VAL_ACC_ES_03[epoch]

    stopper = solutions("03_fashion_mnist_dropout_early_stopping")["early_stopping"]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((8, 4), "float32"), np.zeros((8,), "int64")
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[Scripted(), stopper])
    assert len(history.history["loss"]) == 8 and stopper.best_epoch == 4  # 0-based: epoch 5
