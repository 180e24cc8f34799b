"""What a program reports to whoever started it: one JSON file, never numbers parsed from printed lines.

A child process (a training worker, a notebook's kernel under ``make run``: its backend) finds
the file to write in ``KERASLAB_RESULT_FILE``; the parent sets it, waits, and reads it back with
:func:`read_result`. A learner's own kernel has no such variable: then only the printed line
remains, which is what the learner reads.

Example::

    from keraslab.results import read_result, write_result

    write_result({"epochs": 6, "test_accuracy": 0.901})   # in the child
    read_result(path)                                     # in the parent, once the child has exited
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["RESULT_FILE_ENV", "read_result", "write_result"]

#: The environment variable naming the JSON file a child writes its result to.
RESULT_FILE_ENV = "KERASLAB_RESULT_FILE"


def write_result(values: Mapping[str, Any], path: str | os.PathLike[str] | None = None) -> Path | None:
    """Merge ``values`` into the JSON result file (``path``, else ``$KERASLAB_RESULT_FILE``), atomically.

    Args:
        values: JSON-serialisable values; keys already in the file are replaced.
        path: the file; default the one the parent named in the environment.

    Returns:
        The file written, or ``None`` when no parent asked for one (nothing is written).
    """
    target = path or os.environ.get(RESULT_FILE_ENV)
    if not target:
        return None
    target = Path(target)
    merged = {**(read_result(target) or {}), **values}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
    with os.fdopen(fd, "w") as out:
        json.dump(merged, out, indent=1)
    os.replace(tmp, target)  # a reader sees the old file or the new one, never half of one
    return target


def read_result(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The JSON result a child wrote to ``path``; ``None`` when it wrote none (killed, or failed early)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None

