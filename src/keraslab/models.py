"""Model builders for every model the course uses, named as the lessons name them.

Each builder returns a *new, uncompiled* Keras model with fixed model and layer
names, so ``summary()`` reads the same on every run (Keras would otherwise
number auto-named layers ``dense_1``, ``dense_2`` ... across the session).

| builder                    | lesson | architecture                                          | params    |
|----------------------------|--------|-------------------------------------------------------|-----------|
| :func:`iris_mlp`           | 01     | 4 → 50 → 30 → 3 softmax                               | 1,873     |
| :func:`mnist_mlp`          | 02     | 28×28 → Flatten → 256 → 64 → 32 → 10 softmax          | 219,818   |
| :func:`model_fn`           | 03     | 28×28 → Flatten → 100 → [a_layer] → 10 softmax        | 79,510    |
| :func:`get_mnist_model`    | 05     | 784 → 512 → Dropout(0.5) → 10 softmax                 | 407,050   |
| :func:`ticket_classifier`  | 04     | functional: title/text_body/tags → priority/department | 1,286,789 |
| :class:`CustomerTicketModel` | 04   | the same, subclassed (registered serializable)        | 1,286,789 |

Example:

>>> from keraslab.models import iris_mlp
>>> model = iris_mlp()
>>> model.count_params()
1873
"""

from __future__ import annotations

import keras
from keras import layers

__all__ = [
    "TAUGHT_IN",
    "iris_mlp",
    "mnist_mlp",
    "model_fn",
    "get_mnist_model",
    "ticket_classifier",
    "CustomerTicketModel",
    "random_ticket_data",
]


#: Each builder and the lesson that writes it in a cell; a later lesson imports it from here
#: (tests/test_taught_code.py checks that the builder is the lesson's code).
TAUGHT_IN = {
    "iris_mlp": "01",
    "mnist_mlp": "02",
    "model_fn": "03",
    "ticket_classifier": "04",
    "CustomerTicketModel": "04",
    "get_mnist_model": "05",
}


def _positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def iris_mlp(num_features: int = 4, num_classes: int = 3) -> keras.Sequential:
    """Lesson 01's classifier: 4 → Dense 50 relu → Dense 30 relu → Dense 3 softmax.

    Args:
        num_features: input features (iris has 4).
        num_classes: output classes (iris has 3); the last layer is a softmax, so
            the outputs are class probabilities.
    """
    _positive(num_features=num_features, num_classes=num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=(num_features,), name="features"),
            layers.Dense(50, activation="relu", name="hidden_50"),
            layers.Dense(30, activation="relu", name="hidden_30"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="iris_mlp",
    )


def mnist_mlp(input_shape: tuple[int, int] = (28, 28), num_classes: int = 10) -> keras.Sequential:
    """Lesson 02's MLP: 28×28 → Flatten → 256 → 64 → 32 (relu) → 10 softmax."""
    _positive(num_classes=num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            layers.Flatten(name="flatten"),
            layers.Dense(256, activation="relu", name="hidden_256"),
            layers.Dense(64, activation="relu", name="hidden_64"),
            layers.Dense(32, activation="relu", name="hidden_32"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="mnist_mlp",
    )


def model_fn(a_layer: layers.Layer | None = None, input_shape: tuple[int, int] = (28, 28)) -> keras.Sequential:
    """Lesson 03's model: Flatten → Dense 100 relu → ``a_layer`` (if given) → Dense 10 softmax.

    Args:
        a_layer: an extra layer placed after the hidden layer, e.g.
            ``keras.layers.Dropout(0.3)``. Must be a fresh layer object: a layer
            already used by another model would share its weights.

    Example:

    >>> model_fn(keras.layers.Dropout(0.3)).count_params()  # dropout adds no weights
    79510
    """
    if a_layer is not None and not isinstance(a_layer, layers.Layer):
        raise TypeError(
            f"a_layer must be a keras layer such as keras.layers.Dropout(0.3), got {type(a_layer).__name__}"
        )
    stack: list[layers.Layer] = [
        keras.Input(shape=input_shape, name="image"),
        layers.Flatten(name="flatten"),
        layers.Dense(100, activation="relu", name="hidden_100"),
    ]
    if a_layer is not None:
        stack.append(a_layer)
    stack.append(layers.Dense(10, activation="softmax", name="probabilities"))
    return keras.Sequential(stack, name="model_fn" if a_layer is None else f"model_fn_{a_layer.name}")


def get_mnist_model(num_classes: int = 10) -> keras.Model:
    """Deep Learning with Python's MNIST model (functional): 784 → 512 relu → Dropout 0.5 → 10 softmax.

    Takes flattened images scaled to [0, 1]: ``x.reshape(-1, 784).astype("float32") / 255``.
    """
    _positive(num_classes=num_classes)
    inputs = keras.Input(shape=(28 * 28,), name="pixels")
    features = layers.Dense(512, activation="relu", name="hidden_512")(inputs)
    features = layers.Dropout(0.5, name="dropout")(features)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(features)
    return keras.Model(inputs, outputs, name="mnist_model")


def ticket_classifier(vocabulary_size: int = 10000, num_tags: int = 100, num_departments: int = 4) -> keras.Model:
    """The customer-ticket model of lesson 04, built with the functional API.

    Inputs (multi-hot vectors): ``title`` and ``text_body`` (``vocabulary_size``),
    ``tags`` (``num_tags``). Outputs: ``priority`` (sigmoid, 0-1) and
    ``department`` (softmax over ``num_departments``).
    """
    _positive(vocabulary_size=vocabulary_size, num_tags=num_tags, num_departments=num_departments)
    title = keras.Input(shape=(vocabulary_size,), name="title")
    text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
    tags = keras.Input(shape=(num_tags,), name="tags")
    features = layers.Concatenate(name="concatenate")([title, text_body, tags])
    features = layers.Dense(64, activation="relu", name="features")(features)
    priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = layers.Dense(num_departments, activation="softmax", name="department")(features)
    return keras.Model(inputs=[title, text_body, tags], outputs=[priority, department], name="ticket_classifier")


@keras.saving.register_keras_serializable(package="keraslab")
class CustomerTicketModel(keras.Model):
    """The ticket model of lesson 04, subclassed.

    Registered serializable and with :meth:`get_config`, so a saved ``.keras``
    file reloads in a new process with ``keras.saving.load_model``.

    Args:
        num_departments: classes of the ``department`` output.

    Call it on a dict with keys ``title``, ``text_body`` and ``tags``; it returns
    ``[priority, department]``.
    """

    def __init__(self, num_departments: int = 4, **kwargs):
        super().__init__(**kwargs)
        _positive(num_departments=num_departments)
        self.num_departments = num_departments
        self.concat_layer = layers.Concatenate(name="concatenate")
        self.mixing_layer = layers.Dense(64, activation="relu", name="features")
        self.priority_scorer = layers.Dense(1, activation="sigmoid", name="priority")
        self.department_classifier = layers.Dense(num_departments, activation="softmax", name="department")

    def call(self, inputs):
        features = self.concat_layer([inputs["title"], inputs["text_body"], inputs["tags"]])
        features = self.mixing_layer(features)
        priority = self.priority_scorer(features)
        department = self.department_classifier(features)
        return [priority, department]

    def get_config(self):
        config = super().get_config()
        config.update({"num_departments": self.num_departments})
        return config


def random_ticket_data(
    num_samples: int = 1280,
    vocabulary_size: int = 10000,
    num_tags: int = 100,
    num_departments: int = 4,
    seed: int = 0,
):
    """Random multi-hot inputs and targets for the ticket models (as in the book).

    Returns:
        ``(inputs, targets)``: dicts keyed by the models' input and output names,
        ``title``/``text_body``/``tags`` (``float32`` 0/1) and
        ``priority`` (``float32`` in [0, 1], shape ``(n, 1)``) /
        ``department`` (one-hot ``float32``, shape ``(n, num_departments)``).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    inputs = {
        "title": rng.integers(0, 2, size=(num_samples, vocabulary_size)).astype("float32"),
        "text_body": rng.integers(0, 2, size=(num_samples, vocabulary_size)).astype("float32"),
        "tags": rng.integers(0, 2, size=(num_samples, num_tags)).astype("float32"),
    }
    department = np.eye(num_departments, dtype="float32")[rng.integers(0, num_departments, num_samples)]
    targets = {"priority": rng.random((num_samples, 1)).astype("float32"), "department": department}
    return inputs, targets
