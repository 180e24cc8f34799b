"""Lessons 05 and 08's own code, checked outside the notebooks.

Lesson 05 writes the ``LossHistory`` callback in its cell, as Deep Learning with Python does. Lesson 08
runs one training step on TensorFlow in its kernel and on JAX in ``notebooks/scripts/08_jax_train_step.py``,
which it writes with ``%%writefile`` and runs with ``KERAS_BACKEND=jax``.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LESSON_05 = ROOT / "notebooks" / "05_custom_training_loop.ipynb"
LESSON_08 = ROOT / "notebooks" / "08_one_step_two_backends.ipynb"
SCRIPT = ROOT / "notebooks" / "scripts" / "08_jax_train_step.py"


def code_cells(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"])


def stdout(cell):
    return "".join("".join(o.get("text", "")) for o in cell["outputs"] if o.get("name") == "stdout")


# ----------------------------------------------------------------------------------------- lesson 05
def loss_history_class():
    """The LossHistory class as lesson 05's cell defines it, run in a namespace of its own."""
    import keras

    defining = [c for c in code_cells(LESSON_05) if "class LossHistory(" in source(c)]
    assert len(defining) == 1, "one cell defines LossHistory"
    namespace = {"keras": keras}
    exec(compile(source(defining[0]), "LossHistory cell", "exec"), namespace)
    return namespace["LossHistory"]


def test_lesson_05_writes_its_callbacks_itself():
    code = "\n".join(source(c) for c in code_cells(LESSON_05))
    assert "loss_history = LossHistory(FIGURES)" in code
    assert "keras.callbacks.ModelCheckpoint(" in code and "keras.callbacks.EarlyStopping(" in code
    assert not re.search(r"\bcallbacks\.(checkpoint|tensorboard|LossHistory)\(", code)
    assert "keraslab.saving" not in code and "headline(" not in code and "%%script" not in code


def test_loss_history_records_batches_and_saves_a_plot_per_epoch(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, size=64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loss_history = loss_history_class()(tmp_path)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[loss_history])
    assert [len(losses) for losses in loss_history.epoch_losses] == [4, 4]  # 64 samples / 16 per batch
    # batch-level logs hold the running mean: an epoch's last value is the loss fit() reports for it
    np.testing.assert_allclose([e[-1] for e in loss_history.epoch_losses], history.history["loss"], rtol=1e-6)
    assert [p.name for p in loss_history.saved] == ["plot_at_epoch_1.png", "plot_at_epoch_2.png"]
    for path in loss_history.saved:
        assert path.parent == tmp_path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------- lesson 08
def test_lesson_08_shows_the_script_it_runs():
    writers = [c for c in code_cells(LESSON_08) if source(c).startswith("%%writefile")]
    assert len(writers) == 1, "one %%writefile cell: the JAX script"
    first, body = source(writers[0]).split("\n", 1)
    assert first == "%%writefile {SCRIPTS}/08_jax_train_step.py"
    assert not writers[0]["metadata"].get("tags"), "no cell tags: Run All must work in every editor"
    assert body.rstrip("\n") == SCRIPT.read_text(encoding="utf-8").rstrip("\n"), "the committed script is the cell"


def test_the_jax_script_is_the_books_stateless_step():
    text = SCRIPT.read_text(encoding="utf-8")
    for api in ("model.stateless_call(", "jax.value_and_grad(compute_loss_and_updates, has_aux=True)",
                "optimizer.stateless_apply(", "@jax.jit", "variable.assign(value)", "jax.block_until_ready("):
        assert api in text, f"the JAX step lacks {api}"
    assert text.index('keras.backend.backend() != "jax"') < text.index("jax.value_and_grad")


def test_lesson_08_runs_the_script_on_jax_and_compares_like_with_like():
    cells = code_cells(LESSON_08)
    runner = next(c for c in cells if "08_jax_train_step.py" in source(c) and not source(c).startswith("%%"))
    assert '"KERAS_BACKEND": "jax"' in source(runner) and "sys.executable" in source(runner)
    compare = next(c for c in cells if "jax_results[" in source(c) and "assert" in source(c))
    assert "rtol=1e-5" in source(compare)
    shown = stdout(compare)
    rows = dict(re.findall(r"^(loss before training|loss after 100 steps)\s+(\S+\s+\S+)$", shown, re.MULTILINE))
    tf_before, jax_before = rows["loss before training"].split()
    assert tf_before == jax_before, "both backends start from the same weights and batches"
    for after, before in zip(rows["loss after 100 steps"].split(), (tf_before, jax_before), strict=True):
        assert float(after) < float(before)
    assert re.search(r"^time per step\s+\d+\.\d\d ms\s+\d+\.\d\d ms \(", shown, re.MULTILINE)


def run_script(folder, backend):
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, str(SCRIPT), str(folder)], env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_jax_script_trains_from_the_shared_start(tmp_path):
    import keras

    from keraslab.data import load_mnist
    from keraslab.models import get_mnist_model

    (images, labels), _ = load_mnist()
    images = images[:128].reshape((128, 784)).astype("float32") / 255
    labels = labels[:128]
    keras.utils.set_random_seed(1)
    model = get_mnist_model()
    model.save_weights(tmp_path / "initial.weights.h5")
    np.savez(tmp_path / "batches.npz", images=images, labels=labels)
    expected_before = float(keras.losses.SparseCategoricalCrossentropy()(labels, model(images, training=False)))

    child = run_script(tmp_path, "jax")
    assert child.returncode == 0, child.stderr[-3000:]
    assert "['seed_generator/seed_generator_state']" in child.stdout
    results = json.loads((tmp_path / "jax_results.json").read_text())
    assert results["steps"] == 4
    np.testing.assert_allclose(results["loss_before"], expected_before, rtol=1e-5)
    assert results["loss_after"] < results["loss_before"]
    assert results["step_ms"] > 0


def test_the_jax_script_refuses_another_backend(tmp_path):
    child = run_script(tmp_path, "tensorflow")
    assert child.returncode != 0
    assert "run this script with KERAS_BACKEND=jax" in child.stderr
