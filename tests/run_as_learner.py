"""Run one lesson as a learner does: Run All in a fresh kernel, no cell tags, the interpreter's own packages.

The Colab-stack test (tests/test_colab_stack.py) runs this file with .venv-colab's Python 3.13, so the kernel
is Colab's stack plus the course installed with ``pip install -e .``. Usage::

    python tests/run_as_learner.py LESSON.ipynb EXECUTED.ipynb

Writes the executed copy (also when a cell fails) and prints one JSON line: status, seconds, the failing cell.
"""

import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(lesson: Path, executed: Path) -> int:
    nb = nbformat.read(lesson, as_version=4)
    for cell in nb.cells:  # Colab honours no cell tags: run as if there were none
        cell.metadata.pop("tags", None)
    # the kernel starts in the lesson's folder, as in Colab after `%cd keraslab/notebooks`, JupyterLab or VS Code
    resources = {"metadata": {"path": str(lesson.parent)}}
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources=resources)
    start = time.perf_counter()
    status, failed = "ok", None
    try:
        client.execute()
    except CellExecutionError as error:
        status = "error"
        failed = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
            o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        print(str(error)[-3000:], file=sys.stderr)
    seconds = time.perf_counter() - start
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, executed)
    print(json.dumps({"status": status, "seconds": round(seconds, 1), "failed_cell": failed}))
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
