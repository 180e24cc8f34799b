"""Exercise cases of lesson 04: placeholders, solutions, wrong answers, answers checked against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
from exercise_support import solutions

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "04.1": ("04_functional_and_subclassed_models", "param_count", "param_count = ...  # a whole number"),
    "04.2": ("04_functional_and_subclassed_models", "which_api",
             'which_api = ...  # "sequential", "functional" or "subclassed"'),
    "04.3": ("04_functional_and_subclassed_models", "build_two_output_model",
             "def build_two_output_model():\n    ...  # your code here: return the model"),
    "04.4": ("04_functional_and_subclassed_models", "MyMLP", "class MyMLP(keras.Model):\n    ...  # your code here"),
}


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "04.1": [("param_count = 672", "biases"), ("param_count = 704", "output unit")],
    "04.2": [('which_api = "functional"', "explicit graph"), ('which_api = "keras"', "one of")],
    "04.3": [
        ("""
        def build_two_output_model():
            inputs = keras.Input((8,))
            x = keras.layers.Dense(16, activation="relu")(inputs)
            return keras.Model(inputs, [keras.layers.Dense(1, activation="sigmoid")(x),
                                        keras.layers.Dense(3, activation="softmax")(x)])
        """, "outputs are named"),
        ("""
        def build_two_output_model():
            return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                     keras.layers.Dense(3, activation="softmax")])
        """, "not a functional model"),
        ("""
        def build_two_output_model():
            inputs = keras.Input((8,))
            x = keras.layers.Dense(16, activation="relu")(inputs)
            score = keras.layers.Dense(1, name="score")(x)
            category = keras.layers.Dense(3, activation="softmax", name="category")(x)
            return keras.Model(inputs, [score, category])
        """, "sigmoid"),
    ],
    "04.4": [
        ("""
        class MyMLP(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.hidden = keras.layers.Dense(32, activation="relu")
                self.out = keras.layers.Dense(10, activation="softmax")
            def call(self, inputs):
                return self.out(self.hidden(inputs))
        """, "906"),
        ("""
        class MyMLP(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.hidden = keras.layers.Dense(64, activation="relu")
        """, "does not define call()"),
    ],
}



def test_answer_04_1_matches_count_params():
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    assert model.count_params() == solutions("04_functional_and_subclassed_models")["param_count"]
