"""Exercise cases of lesson 06: placeholders, solutions, wrong answers."""

from __future__ import annotations

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "06.1": ("06_reliable_training", "resume_epoch", "resume_epoch = ...  # a whole number"),
    "06.2": ("06_reliable_training", "stop_epoch", "stop_epoch = ...  # a whole number"),
    "06.3": ("06_reliable_training", "best_so_far",
             "def best_so_far(csv_path, monitor, mode):\n    ...  # your code here"),
    "06.4": ("06_reliable_training", "fit_resumably",
             "def fit_resumably(model, x, y, backup_dir):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "06.1": [("resume_epoch = 1", "start over"), ("resume_epoch = 8", "interrupted")],
    "06.2": [("stop_epoch = 4", "uninterrupted run stops"), ("stop_epoch = 6", "three epochs without"),
             ("stop_epoch = 'x'", "whole number")],
    "06.3": [
        ("""
        import csv
        def best_so_far(csv_path, monitor, mode):
            with open(csv_path) as f:
                return min(float(row[monitor]) for row in csv.DictReader(f))
        """, "returned 0.61"),
        ("""
        import csv
        def best_so_far(csv_path, monitor, mode):
            with open(csv_path) as f:
                values = [float(row[monitor]) for row in csv.DictReader(f)]
            return min(values) if mode == "min" else max(values)
        """, "FileNotFoundError"),
        ("""
        import csv, os
        def best_so_far(csv_path, monitor, mode):
            if not os.path.exists(csv_path):
                return None
            with open(csv_path) as f:
                values = [float(row[monitor]) for row in csv.DictReader(f)]
            return min(values) if mode == "min" else max(values)
        """, "ValueError"),
    ],
    "06.4": [
        ("""
        def fit_resumably(model, x, y, backup_dir):
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0)
        """, "trained 6 epochs, not 3"),
        ("""
        def fit_resumably(model, x, y, backup_dir):
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])
        """, "delete_checkpoint=False"),
        ("""
        def fit_resumably(model, x, y, backup_dir):
            model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=[keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)])
        """, "not 6 epochs"),
    ],
}
