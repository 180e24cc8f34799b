"""Solutions to the exercises (확인 문제) of lesson 03,
notebooks/03_fashion_mnist_dropout_early_stopping.ipynb.

Run ``python solutions/03_fashion_mnist_dropout_early_stopping.py`` to check them all.
"""

import keras

# 03.1: the validation loss is lowest at epoch 4 (0.35); after that the model overfits.
best_epoch = 4

# 03.2: kept values are scaled by 1 / (1 - rate): 3.0 / 0.75.
kept_value = 4.0


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


# 03.4: watch val_accuracy (higher is better: mode "max", which "auto" infers); wait out a dip of 2 epochs
# but stop after the 3rd epoch without a record; give the model back its best epoch's weights.
early_stopping = keras.callbacks.EarlyStopping(
    monitor="val_accuracy", mode="max", patience=3, restore_best_weights=True
)


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_03_best_epoch(best_epoch)
    exercises.check_03_dropout_value(kept_value)
    exercises.check_03_dropout_model(model_with_dropout)
    exercises.check_03_early_stopping_choice(early_stopping)
