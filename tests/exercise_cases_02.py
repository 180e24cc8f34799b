"""Exercise cases of lesson 02: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

import math
from pathlib import Path

import keras
from exercise_support import _scripted, solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "02.1": ("02_mnist_callbacks", "rate_epoch_8", "rate_epoch_8 = ...  # a float"),
    "02.2": ("02_mnist_callbacks", "plateau_rate", "plateau_rate = ...  # a float"),
    "02.3": ("02_mnist_callbacks", "halve_every_3",
             "def halve_every_3(epoch, lr):\n    ...  # your code here: return the rate for this epoch"),
    "02.4": ("02_mnist_callbacks", "make_weights_checkpoint",
             "def make_weights_checkpoint(folder):\n    ...  # your code here: return a ModelCheckpoint"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "02.1": [("rate_epoch_8 = 0.01 * math.exp(-0.4)", "9th epoch"), ("rate_epoch_8 = 0.01", "first 5 epochs"),
             ("rate_epoch_8 = 0.01 * math.exp(-0.8)", "decay in every epoch")],
    "02.2": [("plateau_rate = 0.00025", "only equals the best"), ("plateau_rate = 0.0005", "halved 1 time")],
    "02.3": [
        ("""
        def halve_every_3(epoch, lr):
            return lr * 0.5 if epoch % 3 == 0 else lr
        """, "First difference at epoch=0"),
        ("""
        def halve_every_3(epoch, lr):
            return 0.1 * 0.5 ** (epoch // 3)
        """, "use the `lr` argument"),
        ("""
        def halve_every_3(epoch, lr):
            return keras.ops.convert_to_tensor(lr * 0.5 if epoch and epoch % 3 == 0 else lr)
        """, "raised ValueError"),
    ],
    "02.4": [
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), save_best_only=True)
        """, "saves the whole model"),
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.weights.h5"), monitor="val_accuracy",
                                                   save_weights_only=True, save_best_only=True)
        """, "monitors 'val_accuracy'"),
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.ckpt"), save_weights_only=True,
                                                   save_best_only=True)
        """, "raised ValueError"),
    ],
}



def test_answer_02_1_matches_course_schedule():
    def schedule(epoch, lr):  # lesson 02's schedule: keep the rate for 5 epochs, then decay it by exp(-0.1)
        return float(lr) if epoch < 5 else float(lr * math.exp(-0.1))

    lr = 0.01
    for epoch in range(8):  # the rate set at the start of the 8th epoch (epoch=7)
        lr = schedule(epoch, lr)
    assert math.isclose(lr, solutions("02_mnist_callbacks")["rate_epoch_8"], rel_tol=1e-9)



def test_answer_02_2_matches_reduce_lr_on_plateau():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    _scripted(plateau, [{"val_loss": v} for v in [0.30, 0.25, 0.26, 0.27, 0.24, 0.24]], model)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert math.isclose(rate, solutions("02_mnist_callbacks")["plateau_rate"], rel_tol=1e-5)
