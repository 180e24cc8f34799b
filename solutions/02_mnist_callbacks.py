"""Solutions to the exercises (확인 문제) of lesson 02, notebooks/02_mnist_callbacks.ipynb.

Run ``python solutions/02_mnist_callbacks.py`` to check them all.
"""

import math
import os

import keras

# 02.1: epochs 1-5 keep 0.01; epochs 6, 7 and 8 each multiply it by exp(-0.1).
rate_epoch_8 = 0.01 * math.exp(-0.3)  # 0.007408

# 02.2: halved after epochs 3 and 4 (no new low) and after epoch 6 (0.24 only ties the best).
plateau_rate = 0.001 / 2**3  # 0.000125


# 02.3
def halve_every_3(epoch, lr):
    """Keep the rate for epochs 0-2, halve it at epochs 3, 6, 9, ... (Keras counts epochs from 0)."""
    if epoch > 0 and epoch % 3 == 0:
        return float(lr * 0.5)
    return float(lr)


# 02.4
def make_weights_checkpoint(folder):
    """A checkpoint that saves only the weights of the epoch with the lowest val_loss."""
    return keras.callbacks.ModelCheckpoint(
        os.path.join(folder, "best.weights.h5"), monitor="val_loss", save_best_only=True, save_weights_only=True
    )


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_02_schedule_rate(rate_epoch_8)
    exercises.check_02_plateau_rate(plateau_rate)
    exercises.check_02_halving_schedule(halve_every_3)
    exercises.check_02_weights_checkpoint(make_weights_checkpoint)
