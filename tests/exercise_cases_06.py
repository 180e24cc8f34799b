"""Exercise cases of lesson 06: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "06.1": ("06_reliable_training", "resume_epoch", "resume_epoch = ...  # a whole number"),
    "06.2": ("06_reliable_training", "nan_in_checkpoint", "nan_in_checkpoint = ...  # True or False"),
    "06.3": ("06_reliable_training", "atomic_save", "def atomic_save(model, path):\n    ...  # your code here"),
    "06.4": ("06_reliable_training", "fit_resumably",
             "def fit_resumably(model, x, y, run):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "06.1": [("resume_epoch = 1", "start over"), ("resume_epoch = 8", "interrupted")],
    "06.2": [("nan_in_checkpoint = False", "does hold NaN"), ("nan_in_checkpoint = 'perhaps'", "True or False")],
    "06.3": [
        ("""
        def atomic_save(model, path):
            model.save(path)
        """, "overwrote the previous file"),
        ("""
        def atomic_save(model, path):
            tmp = str(path) + ".tmp.keras"
            model.save(tmp)
            os.replace(tmp, path)
        """, "left a temporary file behind"),
        ("""
        def atomic_save(model, path):
            tmp = str(path) + ".tmp"
            model.save(tmp)
            os.replace(tmp, path)
        """, "raised ValueError"),
    ],
    "06.4": [
        ("""
        def fit_resumably(model, x, y, run):
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0)
        """, "trained all 6 epochs again"),
        ("""
        import tempfile
        def fit_resumably(model, x, y, run):
            backup = keras.callbacks.BackupAndRestore(tempfile.mkdtemp())  # a new folder every call
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=[backup])
        """, "with the run you are given"),
        ("""
        def fit_resumably(model, x, y, run):
            model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=resume.resumable_callbacks(run))
        """, "not 6 epochs"),
    ],
}
