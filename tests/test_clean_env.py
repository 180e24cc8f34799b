"""A lesson executed as a plain `jupyter nbconvert --execute` would: a learner's environment, no headless profile.

make, pytest and the runner set TF_CPP_MIN_LOG_LEVEL and point IPython at tests/ipython (which
keeps fd 2 out of cells). A learner has neither, and the kernel then captures fd 2, so any
TensorFlow C++ line would land in a cell. The lesson's setup() call alone must keep them out.
"""

import os
import re
import sys

import nbformat
from nbclient import NotebookClient

from keraslab import paths

LESSON = "04_functional_and_subclassed_models.ipynb"  # TensorFlow-heavy, and quick (about 30 s)
TF_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\]|absl::InitializeLog|cuda_platform|cudart_stub", re.M)


def test_a_lesson_in_a_clean_environment_shows_no_tensorflow_log_lines(tmp_path):
    dropped = ("TF_", "KERAS_BACKEND", "IPYTHONDIR", "PYTHONWARNINGS", "PYTHONHASHSEED", "JUPYTER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["HOME"] = str(tmp_path)  # default IPython and Jupyter settings: fd capture on
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    nb = nbformat.read(paths.repo_root() / "notebooks" / LESSON, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    outputs = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs]
    texts = [(i, o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())) for i, o in outputs]
    noise = [(i, t[:200]) for i, t in texts if TF_LOG.search(t)]
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    print(f"{len(outputs)} outputs in {n_code} code cells; TensorFlow log lines: {len(noise)}")
    assert not noise, f"TensorFlow C++ log lines in cell outputs: {noise}"
    assert not [o for _, o in outputs if o.output_type == "error"], "a cell stored an error"
