"""Lesson 04's fresh process: try to reopen a ``.keras`` file with ``keras.saving.load_model``.

Usage::

    python notebooks/scripts/reopen_checkpoint.py MODEL.keras REPORT.json

This process has only what it imports, never the notebook's classes. It writes to ``REPORT.json``
either ``{"model_class": ...}`` (the file reopened) or ``{"error": ...}``: the message of the
``TypeError`` Keras raises when the file names a class this process does not know.
"""

import json
import sys

import keras


def main(path: str, report: str) -> None:
    try:
        model = keras.saving.load_model(path)
    except TypeError as exc:
        outcome = {"error": str(exc)}
    else:
        outcome = {"model_class": type(model).__name__}
    with open(report, "w", encoding="utf-8") as file:
        json.dump(outcome, file)


if __name__ == "__main__":
    main(*sys.argv[1:])
