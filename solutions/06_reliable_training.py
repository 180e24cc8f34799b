"""Solutions to the exercises (확인 문제) of lesson 06, notebooks/06_reliable_training.ipynb.

Run ``python solutions/06_reliable_training.py`` to check them all.
"""

import csv
from pathlib import Path

import keras

# 06.1: the backup says 6 epochs finished, so the rerun starts with Epoch 7/10 (from its beginning).
resume_epoch = 7

# 06.2: plain EarlyStopping forgets wait and best: epoch 4 (0.43) becomes its best, epochs 5-7 do not
# improve, so it stops after epoch 7 (an uninterrupted run stops after epoch 4).
stop_epoch = 7


# 06.3
def best_so_far(csv_path, monitor, mode):
    """The best `monitor` value in a CSVLogger file (min or max by `mode`); None before the first row."""
    if not Path(csv_path).exists():
        return None
    with open(csv_path, newline="") as f:
        values = [float(row[monitor]) for row in csv.DictReader(f)]
    if not values:
        return None
    return min(values) if mode == "min" else max(values)


# 06.4
def fit_resumably(model, x, y, backup_dir):
    """6 epochs; after an interruption the same call continues; after the end a rerun trains nothing."""
    backup = keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
    model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0, callbacks=[backup])


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_06_resume_epoch(resume_epoch)
    exercises.check_06_early_stop(stop_epoch)
    exercises.check_06_best_so_far(best_so_far)
    exercises.check_06_resumable_run(fit_resumably)
