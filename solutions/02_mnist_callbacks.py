"""Solutions to the exercises (확인 문제) of lesson 02, notebooks/02_mnist_callbacks.ipynb.

Run ``python solutions/02_mnist_callbacks.py`` to check them all.
"""

import csv
import math

# 02.1: epochs 1-5 keep 0.05; epochs 6 to 15 each multiply it by exp(-0.1): 10 decays.
rate_epoch_15 = 0.05 * math.exp(-1.0)  # 0.01839

# 02.2: halved after epochs 3 and 4 (no new low) and after epoch 6 (0.24 only ties the best).
plateau_rate = 0.001 / 2**3  # 0.000125


# 02.3
def halve_every_3(epoch, lr):
    """Keep the rate for epochs 0-2, halve it at epochs 3, 6, 9, ... (Keras counts epochs from 0)."""
    if epoch > 0 and epoch % 3 == 0:
        return float(lr * 0.5)
    return float(lr)


# 02.4
def best_epoch(csv_path):
    """The first epoch with the lowest val_loss, counted from 1, and the learning rate it trained with."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    best = min(rows, key=lambda row: float(row["val_loss"]))  # min() keeps the first of equal values
    return int(float(best["epoch"])) + 1, float(best["learning_rate"])  # the CSV's epoch column counts from 0


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_02_schedule_rate(rate_epoch_15)
    exercises.check_02_plateau_rate(plateau_rate)
    exercises.check_02_halving_schedule(halve_every_3)
    exercises.check_02_best_epoch(best_epoch)
