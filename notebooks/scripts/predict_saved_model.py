"""Lesson 04's new process: load a saved subclassed model and predict on a saved sample.

Usage::

    python notebooks/scripts/predict_saved_model.py MODEL.keras SAMPLE.npz OUT.npz

This process never saw the notebook. It can rebuild ``CustomerTicketModel`` only because importing
``keraslab.models`` registers the class (``@keras.saving.register_keras_serializable``). It writes
to ``OUT.npz`` the two predicted outputs (``priority``, ``department``) and what it loaded
(``model_class``, ``params``), for the notebook that started it to read.
"""

import sys

import keras
import numpy as np

import keraslab.models  # noqa: F401  importing it runs @register_keras_serializable


def main(model_path: str, sample_path: str, out_path: str) -> None:
    model = keras.saving.load_model(model_path)
    sample = dict(np.load(sample_path))
    priority, department = model.predict(sample, verbose=0)
    np.savez(out_path, priority=priority, department=department, model_class=type(model).__name__,
             params=model.count_params())


if __name__ == "__main__":
    main(*sys.argv[1:])
