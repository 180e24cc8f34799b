"""Exercise cases of lesson 02: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

import math
from pathlib import Path

import keras
from exercise_support import _scripted, solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "02.1": ("02_mnist_callbacks", "rate_epoch_15", "rate_epoch_15 = ...  # a float"),
    "02.2": ("02_mnist_callbacks", "plateau_rate", "plateau_rate = ...  # a float"),
    "02.3": ("02_mnist_callbacks", "halve_every_3",
             "def halve_every_3(epoch, lr):\n    ...  # your code here: return the rate for this epoch"),
    "02.4": ("02_mnist_callbacks", "best_epoch",
             "def best_epoch(csv_path):\n    ...  # your code here: return (epoch, learning_rate)"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "02.1": [("rate_epoch_15 = 0.05 * math.exp(-0.9)", "14th epoch"), ("rate_epoch_15 = 0.05", "not below 0.05"),
             ("rate_epoch_15 = 0.05 * math.exp(-1.5)", "decay in every epoch"),
             ("rate_epoch_15 = 0.05 * math.exp(-1.1)", "16th epoch"),
             ("rate_epoch_15 = 0.01 * math.exp(-1.0)", "this run starts at 0.05"),
             ("rate_epoch_15 = 0.05 * math.exp(-0.3)", "not the rate of the 15th epoch (3 decays)")],
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
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            best = min(rows, key=lambda row: float(row["val_loss"]))
            return int(float(best["epoch"])), float(best["learning_rate"])
        """, "counts from 0"),
        ("""
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            best = min(rows, key=lambda row: float(row["val_loss"]))
            return best["epoch"], best["learning_rate"]
        """, "not a pair of numbers"),
        ("""
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            best = min(rows, key=lambda row: float(row["loss"]))
            return int(float(best["epoch"])) + 1, float(best["learning_rate"])
        """, "lowest training loss"),
        ("""
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            lowest = min(float(row["val_loss"]) for row in rows)
            i = max(i for i, row in enumerate(rows) if float(row["val_loss"]) == lowest)
            return i + 1, float(rows[i]["learning_rate"])
        """, "a tie is no improvement"),
        ("""
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            best = min(rows, key=lambda row: float(row["val_loss"]))
            return int(float(best["epoch"])) + 1, float(rows[-1]["learning_rate"])
        """, "same row as the lowest val_loss"),
        ("""
        def best_epoch(csv_path):
            import csv
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
            best = max(rows, key=lambda row: float(row["val_loss"]))
            return int(float(best["epoch"])) + 1, float(best["learning_rate"])
        """, "highest val_loss"),
    ],
}



def test_answer_02_1_matches_course_schedule():
    def schedule(epoch, lr):  # lesson 02's schedule: keep the rate for 5 epochs, then decay it by exp(-0.1)
        return float(lr) if epoch < 5 else float(lr * math.exp(-0.1))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    scheduler = keras.callbacks.LearningRateScheduler(schedule)
    scheduler.set_model(model)
    for epoch in range(15):  # the rate set at the start of the 15th epoch (epoch=14)
        scheduler.on_epoch_begin(epoch)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert math.isclose(rate, solutions("02_mnist_callbacks")["rate_epoch_15"], rel_tol=1e-5)



def test_answer_02_2_matches_reduce_lr_on_plateau():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    _scripted(plateau, [{"val_loss": v} for v in [0.30, 0.25, 0.26, 0.27, 0.24, 0.24]], model)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert math.isclose(rate, solutions("02_mnist_callbacks")["plateau_rate"], rel_tol=1e-5)


def test_answer_02_4_matches_a_real_fit_log(tmp_path):
    """The solution reads a log that fit() itself wrote with ReduceLROnPlateau and CSVLogger, as lesson 02 does."""
    import numpy as np

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    path = tmp_path / "training.csv"
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    history = model.fit(x[:48], x[:48, :1] * 3, validation_data=(x[48:], x[48:, :1] * 3), epochs=8, verbose=0,
                        callbacks=[plateau, keras.callbacks.CSVLogger(str(path))])
    val_loss = history.history["val_loss"]
    best = val_loss.index(min(val_loss))
    epoch, rate = solutions("02_mnist_callbacks")["best_epoch"](path)
    assert epoch == best + 1
    assert math.isclose(rate, history.history["learning_rate"][best], rel_tol=1e-6)
