"""Lesson 05's own code, checked outside the notebook: the JAX step's child process and the LossHistory callback.

The JAX section runs the same training step in a child process from a TensorFlow kernel; the
section "Writing your own callback" defines ``LossHistory`` in its cell, as Deep Learning with
Python does, and the course package no longer holds it.
"""

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


def loss_history_class():
    """The LossHistory class as the lesson's cell defines it, run in a namespace of its own."""
    import keras

    defining = [c for c in cells() if c["cell_type"] == "code" and "class LossHistory(" in source(c)]
    assert len(defining) == 1, "one cell defines LossHistory"
    namespace = {"keras": keras}
    exec(compile(source(defining[0]), "LossHistory cell", "exec"), namespace)
    return namespace["LossHistory"]


def test_the_lesson_writes_loss_history_itself():
    code = "\n".join(source(c) for c in cells() if c["cell_type"] == "code")
    assert "callbacks.LossHistory" not in code, "the lesson's callback is the class in its cell"
    assert "loss_history = LossHistory(FIGURES)" in code


def test_loss_history_records_batches_and_saves_a_plot_per_epoch(tmp_path):
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss_history = loss_history_class()(tmp_path)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[loss_history])
    assert [len(losses) for losses in loss_history.epoch_losses] == [4, 4]  # 64 samples / 16 per batch
    # Keras 3 passes the running mean: an epoch's last value is the loss fit() reports for it
    np.testing.assert_allclose([e[-1] for e in loss_history.epoch_losses], history.history["loss"], rtol=1e-6)
    assert [p.name for p in loss_history.saved] == ["plot_at_epoch_1.png", "plot_at_epoch_2.png"]
    for path in loss_history.saved:
        assert path.parent == tmp_path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
