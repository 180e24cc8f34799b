"""Lesson 04's new process: load a saved subclassed model and predict on a saved sample.

Usage::

    python notebooks/scripts/predict_saved_model.py MODEL.keras SAMPLE.npz OUT.npz

This process never saw the notebook. It can rebuild ``CustomerTicketModel`` only because importing
``keraslab.models`` registers the class (``@keras.saving.register_keras_serializable``). It writes
the two predicted outputs to ``OUT.npz`` and reports the model's class and parameter count with
:func:`keraslab.results.write_result`, for the notebook that started it.
"""

import sys

import keras
import numpy as np

import keraslab.models  # noqa: F401  importing it runs @register_keras_serializable
from keraslab.results import write_result


def main(model_path: str, sample_path: str, out_path: str) -> None:
    model = keras.saving.load_model(model_path)
    sample = dict(np.load(sample_path))
    priority, department = model.predict(sample, verbose=0)
    np.savez(out_path, priority=priority, department=department)
    write_result({"model_class": type(model).__name__, "params": model.count_params()})


if __name__ == "__main__":
    main(*sys.argv[1:])
