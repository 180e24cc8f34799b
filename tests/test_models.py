import subprocess
import sys

import keras
import numpy as np
import pytest

from keraslab import models


def dense(n_in, n_out):
    """Parameters of a Dense layer: weights plus biases."""
    return n_in * n_out + n_out


@pytest.mark.parametrize(
    "builder, expected, input_shape, output_shape",
    [
        (models.iris_mlp, dense(4, 50) + dense(50, 30) + dense(30, 3), (4,), (3,)),
        (models.mnist_mlp, dense(784, 256) + dense(256, 64) + dense(64, 32) + dense(32, 10), (28, 28), (10,)),
        (models.model_fn, dense(784, 100) + dense(100, 10), (28, 28), (10,)),
        (models.get_mnist_model, dense(784, 512) + dense(512, 10), (784,), (10,)),
    ],
)
def test_single_input_builders(builder, expected, input_shape, output_shape):
    model = builder()
    assert model.count_params() == expected
    x = np.random.default_rng(0).random((3, *input_shape)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (3, *output_shape)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)  # softmax outputs


def test_hand_counted_totals():
    assert models.iris_mlp().count_params() == 1873
    assert models.mnist_mlp().count_params() == 219818
    assert models.model_fn().count_params() == 79510
    assert models.get_mnist_model().count_params() == 407050
    assert models.ticket_classifier().count_params() == 1286789


def test_builders_return_new_models_with_stable_names():
    a, b = models.iris_mlp(), models.iris_mlp()
    assert a is not b and a.name == b.name == "iris_mlp"
    assert [layer.name for layer in a.layers] == ["hidden_50", "hidden_30", "probabilities"]
    assert a.layers[-1].activation is keras.activations.softmax


def test_model_fn_with_dropout():
    model = models.model_fn(keras.layers.Dropout(0.3, name="dropout"))
    assert [layer.name for layer in model.layers] == ["flatten", "hidden_100", "dropout", "probabilities"]
    assert model.count_params() == 79510  # dropout adds no parameters
    assert model.name == "model_fn_dropout"


def test_model_fn_rejects_non_layers():
    with pytest.raises(TypeError, match="keras layer such as keras.layers.Dropout"):
        models.model_fn(0.3)


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"num_classes": 2.5}, {"num_features": -1}])
def test_iris_mlp_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        models.iris_mlp(**kwargs)


def test_ticket_classifier_io():
    model = models.ticket_classifier()
    assert [t.name for t in model.inputs] == ["title", "text_body", "tags"]
    assert model.output_names == ["priority", "department"]
    inputs, targets = models.random_ticket_data(num_samples=16)
    priority, department = model.predict(inputs, verbose=0)
    assert priority.shape == (16, 1) and department.shape == (16, 4)
    assert targets["priority"].shape == (16, 1) and targets["department"].shape == (16, 4)
    np.testing.assert_allclose(targets["department"].sum(axis=1), 1.0)


def test_random_ticket_data_is_seeded():
    a, _ = models.random_ticket_data(num_samples=4, seed=3)
    b, _ = models.random_ticket_data(num_samples=4, seed=3)
    np.testing.assert_array_equal(a["title"], b["title"])
    assert set(np.unique(a["tags"]).tolist()) <= {0.0, 1.0}


def test_customer_ticket_model_matches_functional():
    inputs, targets = models.random_ticket_data(num_samples=32)
    sub = models.CustomerTicketModel(num_departments=4)
    priority, department = sub(inputs)
    assert priority.shape == (32, 1) and department.shape == (32, 4)
    assert sub.count_params() == models.ticket_classifier().count_params()
    # the priority scorer sees the shared features once (the material applied it twice)
    assert sub.priority_scorer.kernel.shape == (64, 1)


def test_customer_ticket_model_save_load_new_process(tmp_path):
    inputs, targets = models.random_ticket_data(num_samples=16)
    model = models.CustomerTicketModel(num_departments=4)
    model.compile(optimizer="rmsprop", loss=["mean_squared_error", "categorical_crossentropy"])
    model.fit(inputs, [targets["priority"], targets["department"]], epochs=1, verbose=0)
    path = tmp_path / "ticket.keras"
    model.save(path)
    expected = model.predict(inputs, verbose=0)
    np.savez(tmp_path / "inputs.npz", **inputs)
    np.savez(tmp_path / "expected.npz", priority=expected[0], department=expected[1])
    code = f"""
import numpy as np, keras
import keraslab.models  # registers CustomerTicketModel
m = keras.saving.load_model({str(path)!r})
assert type(m).__name__ == "CustomerTicketModel" and m.num_departments == 4
x = dict(np.load({str(tmp_path / "inputs.npz")!r}))
e = np.load({str(tmp_path / "expected.npz")!r})
p, d = m.predict(x, verbose=0)
np.testing.assert_allclose(p, e["priority"], rtol=1e-6, atol=1e-6)
np.testing.assert_allclose(d, e["department"], rtol=1e-6, atol=1e-6)
print("reloaded ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "reloaded ok" in out.stdout
