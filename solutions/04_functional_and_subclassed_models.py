"""Solutions to the exercises (확인 문제) of lesson 04, notebooks/04_functional_and_subclassed_models.ipynb.

Run ``python solutions/04_functional_and_subclassed_models.py`` to check them all.
"""

import keras
from keras import layers

# 04.1: 20 x 32 + 32 = 672 (hidden) and 32 x 1 + 1 = 33 (output).
param_count = 705

# 04.2: a subclassed model's forward pass is Python code in call(): no graph to plot or inspect.
which_api = "subclassed"


# 04.3
def build_two_output_model():
    """One input of 8 features, a shared Dense(16) layer, outputs 'score' and 'category'."""
    features = keras.Input(shape=(8,), name="features")
    shared = layers.Dense(16, activation="relu", name="shared")(features)
    score = layers.Dense(1, activation="sigmoid", name="score")(shared)
    category = layers.Dense(3, activation="softmax", name="category")(shared)
    return keras.Model(inputs=features, outputs=[score, category], name="two_outputs")


# 04.4
class MyMLP(keras.Model):
    """3 -> 64 -> 10, written as a subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(64, activation="relu")
        self.probabilities = layers.Dense(10, activation="softmax")

    def call(self, inputs):
        return self.probabilities(self.hidden(inputs))


if __name__ == "__main__":
    from keraslab import exercises

    exercises.check_04_param_count(param_count)
    exercises.check_04_which_api(which_api)
    exercises.check_04_two_output_model(build_two_output_model)
    exercises.check_04_subclassed_mlp(MyMLP)
