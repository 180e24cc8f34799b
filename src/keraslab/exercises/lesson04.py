"""Checkers of lesson 04's exercises (three model APIs); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import keras
import numpy as np

from keraslab.exercises._core import (
    _choice,
    _correct,
    _exercise,
    _learner_class,
    _learner_function,
    _own_functions,
    _returned,
    _run,
    _Verdict,
    _whole,
    _wrong,
)
from keraslab.i18n import translator

_ = translator("lesson04")

__all__ = ["check_04_param_count", "check_04_which_api", "check_04_two_output_model", "check_04_subclassed_mlp"]


@_exercise("04.1", "question", "Count the parameters of a small model")
def check_04_param_count(answer=...):
    """Question: how many parameters does ``keras.Input(shape=(20,))`` ->
    ``Dense(32, activation="relu")`` -> ``Dense(1)`` have?

    Args:
        answer: a whole number.

    Example::

        param_count = ...  # your answer
        exercises.check_04_param_count(param_count)
    """
    count = _whole(answer)
    if count == 705:
        raise _correct(_("20 x 32 + 32 = 672 for the hidden layer and 32 x 1 + 1 = 33 for the output: 705."))
    hints = {
        672: _("672 leaves out the biases: every Dense unit has one bias besides its weights."),
        704: _("one bias is missing: the output unit has one too."),
        673: _("the hidden layer has 32 biases, one per unit."),
        640: _("640 is the hidden layer's kernel only; add its 32 biases and the output layer."),
    }
    raise _wrong(_("the model does not have {count:,} parameters.").format(count=count),
                 hints.get(count, _("a Dense layer has inputs x units weights plus units biases; add both layers.")))


_API_CHOICES = {"sequential": "sequential", "sequential model": "sequential", "functional": "functional",
                "functional api": "functional", "subclassed": "subclassed", "subclassing": "subclassed",
                "model subclassing": "subclassed", "subclass": "subclassed"}


@_exercise("04.2", "question", "Which API hides the layer graph?")
def check_04_which_api(answer=...):
    """Question: with which of the three APIs is the forward pass Python code in ``call()``, so that
    ``plot_model`` shows no layer graph and ``layer.output`` cannot be inspected?

    Args:
        answer: ``"sequential"``, ``"functional"`` or ``"subclassed"``.

    Example::

        which_api = ...  # your answer
        exercises.check_04_which_api(which_api)
    """
    choice = _choice(answer, _API_CHOICES)
    if choice == "subclassed":
        raise _correct(_("a subclassed model's forward pass is Python code, so Keras has no graph of layers to plot "
                         "or inspect."))
    raise _wrong(_("a {choice} model is an explicit graph of layers: plot_model draws it and layer.output works.")
                 .format(choice=choice), _("which API writes the forward pass as a method of your own class?"))


def _check_two_output(fn) -> _Verdict:
    hint = _("features = keras.Input((8,)); x = Dense(16, relu)(features); two heads Dense(1, sigmoid, "
             "name='score') and Dense(3, softmax, name='category'); keras.Model(features, [score, category]).")
    model = _returned(_run("`build_two_output_model()`", hint, fn), "build_two_output_model()", _("the model"))
    if not isinstance(model, keras.Model):
        raise _wrong(_("`build_two_output_model()` returned {type}, not a Keras model.").format(
            type=type(model).__name__), hint)
    if isinstance(model, keras.Sequential) or not hasattr(model, "outputs"):
        raise _wrong(_("your model is not a functional model (a Sequential model has one output; a subclassed one "
                       "no graph)."), hint)
    inputs = model.inputs
    if len(inputs) != 1 or tuple(inputs[0].shape) != (None, 8):
        raise _wrong(_("your model's inputs have shapes {shapes}; expected one input of shape (None, 8).").format(
            shapes=[tuple(i.shape) for i in inputs]), "keras.Input(shape=(8,)).")
    names = list(model.output_names)
    if len(names) != 2:
        raise _wrong(_("your model has {count} output(s); the task asks for two.").format(count=len(names)), hint)
    if names != ["score", "category"]:
        raise _wrong(_("your model's outputs are named {names}.").format(names=names),
                     _("name the output layers, in this order: Dense(1, ..., name='score'), Dense(3, ..., "
                       "name='category')."))
    shapes = [tuple(o.shape) for o in model.outputs]
    if shapes != [(None, 1), (None, 3)]:
        raise _wrong(_("your outputs have shapes {shapes}; expected (None, 1) and (None, 3).").format(shapes=shapes),
                     hint)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype("float32")
    targets = {"score": (x[:, 0] > 0).astype("float32")[:, None], "category": rng.integers(0, 3, 128)}
    losses = {"score": "binary_crossentropy", "category": "sparse_categorical_crossentropy"}
    model.compile(optimizer="adam", loss=losses)
    history = _run(_("fit() on your model"), hint, model.fit, x, targets, epochs=2, batch_size=32, verbose=0)
    if not all(np.isfinite(v) for v in history.history["loss"]):
        raise _wrong(_("training your model gave a non-finite loss."), hint)
    score, category = (keras.ops.convert_to_numpy(p) for p in model.predict(x[:16], verbose=0))
    if not ((score >= 0) & (score <= 1)).all():
        raise _wrong(_("the 'score' output is not between 0 and 1."), _("give it activation='sigmoid'."))
    if not np.allclose(category.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong(_("the 'category' output rows do not sum to 1."), _("give it activation='softmax'."))
    return _correct(_("one input of 8 features, outputs 'score' (sigmoid) and 'category' (softmax over 3); it "
                      "trained for 2 epochs with one loss per output, given as a dict keyed by the output names."))


@_exercise("04.3", "coding", "A functional model with two outputs")
def check_04_two_output_model(answer=...):
    """Coding: ``build_two_output_model()`` returns a functional model with one input of
    8 features, a shared ``Dense(16, relu)`` layer and two outputs, ``"score"`` and
    ``"category"``; the check trains it for 2 epochs with one loss per output.

    Args:
        answer: the function ``build_two_output_model``.

    Example::

        def build_two_output_model():
            ...  # your code here

        exercises.check_04_two_output_model(build_two_output_model)
    """
    keras.utils.set_random_seed(0)
    raise _check_two_output(_learner_function(answer, "build_two_output_model"))


@_exercise("04.4", "coding", "A subclassed model: 3 -> 64 -> 10")
def check_04_subclassed_mlp(answer=...):
    """Coding: ``class MyMLP(keras.Model)`` that creates ``Dense(64, relu)`` and
    ``Dense(10, softmax)`` in ``__init__`` and applies them in ``call()``.

    Args:
        answer: the class ``MyMLP``.

    Example::

        class MyMLP(keras.Model):
            ...  # your code here

        exercises.check_04_subclassed_mlp(MyMLP)
    """
    cls = _learner_class(answer, keras.Model, "MyMLP", "keras.Model")
    if "call" not in _own_functions(cls, keras.Model):
        raise _wrong(_("`MyMLP` does not define call(); a subclassed model's forward pass lives there."),
                     _("def call(self, inputs): return self.output_layer(self.hidden(inputs))."))
    keras.utils.set_random_seed(0)
    hint = _("def __init__(self, **kwargs): super().__init__(**kwargs), then create the two Dense layers.")
    model = _run("`MyMLP()`", hint, cls)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(_run(_("calling your model on a (64, 3) batch"), hint, model, x))
    if out.shape != (64, 10):
        raise _wrong(_("on a (64, 3) batch your model returns shape {shape}, not (64, 10).").format(shape=out.shape),
                     _("end with Dense(10, activation='softmax')."))
    if model.count_params() != 906:
        raise _wrong(_("your model has {count:,} parameters; 3 -> 64 -> 10 has 906 (3 x 64 + 64 and 64 x 10 + 10)."
                       ).format(count=model.count_params()), _("Dense(64, activation='relu'), then Dense(10)."))
    if not np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong(_("the output rows do not sum to 1."), _("the output layer needs activation='softmax'."))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    y = np.random.default_rng(1).integers(0, 10, 64)
    _run(_("fit() on your model"), hint, model.fit, x, y, epochs=1, batch_size=32, verbose=0)
    raise _correct(_("MyMLP builds its weights on the first call (906 parameters), returns 10 probabilities per "
                     "sample and trains with fit()."))

