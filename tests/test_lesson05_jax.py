"""Lesson 05's JAX section: the same training step, run in a child process from a TensorFlow kernel."""

import json
import re
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_custom_training_loop.ipynb"


def cells():
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


def test_the_jax_step_runs_in_a_child_process_of_this_kernels_python():
    scripts = [c for c in cells() if c["cell_type"] == "code" and source(c).startswith("%%script")]
    assert len(scripts) == 1, "one %%script cell: the JAX step"
    cell = scripts[0]
    first, body = source(cell).split("\n", 1)
    # the kernel's own Python, quoted (paths with spaces), whatever the working directory
    assert first == '%%script "{sys.executable}"'
    assert not cell["metadata"].get("tags"), "no cell tags: Run All must work in every editor"
    # JAX is chosen before Keras loads, on the body's first statement
    statements = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    assert statements[0] == "import os"
    assert statements[1].startswith('os.environ["KERAS_BACKEND"] = "jax"')
    assert body.index("KERAS_BACKEND") < min(body.index("import keras"), body.index("import jax"))
    apis = (
        "model.stateless_call(",
        "jax.value_and_grad(compute_loss_and_updates, has_aux=True)",
        "optimizer.stateless_apply(",
        "@jax.jit",
        "variable.assign(value)",
        "jax.block_until_ready(",
    )
    for api in apis:
        assert api in body, f"the JAX step lacks {api}"


def test_the_kernel_compares_what_the_child_measured():
    nb = cells()
    code = [c for c in nb if c["cell_type"] == "code"]
    index = next(i for i, c in enumerate(code) if source(c).startswith("%%script"))
    before, after = source(code[index - 1]), source(code[index + 1])
    assert "KERASLAB_05_JAX_DIR" in before and "save_weights" in before and "@tf.function" in before
    assert "jax_results.json" in after and "assert" in after and "rmtree" in after
    shown = "".join("".join(o.get("text", "")) for o in code[index + 1]["outputs"])
    rows = dict(re.findall(r"^(loss before training|loss after 5 steps)\s+(\S+\s+\S+)$", shown, re.MULTILINE))
    tf_before, jax_before = rows["loss before training"].split()
    assert tf_before == jax_before, "both backends start from the same weights and batch"
    for backend_after, backend_before in zip(rows["loss after 5 steps"].split(), (tf_before, jax_before), strict=True):
        assert float(backend_after) < float(backend_before)
    assert re.search(r"^time per step\s+\d+\.\d\d ms\s+\d+\.\d\d ms \(", shown, re.MULTILINE)
