"""Solutions to the exercises (확인 문제) of lesson 03,
notebooks/03_fashion_mnist_dropout_early_stopping.ipynb.

Run ``python solutions/03_fashion_mnist_dropout_early_stopping.py`` to check them all.
"""

import os

import keras

# 03.1: the validation loss is lowest at epoch 4 (0.35); after that the model overfits.
best_epoch = 4

# 03.2: kept values are scaled by 1 / (1 - rate).
kept_value = 1 / (1 - 0.3)  # 1.4286


# 03.3
def model_with_dropout(rate):
    """The course's Fashion-MNIST model with Dropout(rate) after the hidden layer (79,510 parameters)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


# 03.4
def make_callbacks(folder):
    """The best model by val_loss in folder/best-model.keras, and early stopping that restores it."""
    return [
        keras.callbacks.ModelCheckpoint(os.path.join(folder, "best-model.keras"), monitor="val_loss",
                                        save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
    ]


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_03_best_epoch(best_epoch)
    exercises.check_03_dropout_value(kept_value)
    exercises.check_03_dropout_model(model_with_dropout)
    exercises.check_03_best_model_callbacks(make_callbacks)
