"""Lesson 04's fresh process: try to reopen a ``.keras`` file with ``keraslab.saving.load_model``.

Usage::

    python notebooks/scripts/reopen_checkpoint.py MODEL.keras REPORT.json

This process has only what it imports, never the notebook's classes. It writes to ``REPORT.json``
(with :func:`keraslab.results.write_result`) either ``{"model_class": ...}`` (the file reopened) or
``{"error": ...}``: the :class:`keraslab.saving.CheckpointError` message, which names a missing
class and the two ways to provide it.
"""

import sys

from keraslab import saving
from keraslab.results import write_result


def main(path: str, report: str) -> None:
    try:
        model = saving.load_model(path)
    except saving.CheckpointError as exc:
        write_result({"error": str(exc)}, path=report)
    else:
        write_result({"model_class": type(model).__name__}, path=report)


if __name__ == "__main__":
    main(*sys.argv[1:])
