"""Tests of keraslab.exercises: every checker on its solution, its placeholder and wrong answers.

For each exercise (확인 문제) of lessons 01-07:

- the solution in ``solutions/NN_*.py`` prints "✅ Correct" and returns True;
- the placeholder the notebook cell starts with prints "⏳ Not solved yet" and returns None;
- plausible wrong answers print "❌ Not yet" naming what is wrong, and return False;
- nothing ever raises, whatever the checker is given.

The question answers are also checked against what Keras itself does.
"""

from __future__ import annotations

import math
import os
import runpy
import textwrap
from functools import cache
from pathlib import Path

import keras
import numpy as np
import pytest

from keraslab import exercises

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"

# exercise id -> (solution file stem, the answer's name, the placeholder a notebook cell starts with)
TABLE: dict[str, tuple[str, str, str]] = {
    "01.1": ("01_iris_checkpoint", "stop_epoch", "stop_epoch = ...  # a whole number"),
    "01.2": ("01_iris_checkpoint", "checkpoint_files", "checkpoint_files = ...  # a list of file names"),
    "01.3": ("01_iris_checkpoint", "StopAtAccuracy",
             "class StopAtAccuracy(keras.callbacks.Callback):\n    ...  # your code here"),
    "01.4": ("01_iris_checkpoint", "make_checkpoint",
             "def make_checkpoint(folder):\n    ...  # your code here: return a keras.callbacks.ModelCheckpoint"),
    "02.1": ("02_mnist_callbacks", "rate_epoch_8", "rate_epoch_8 = ...  # a float"),
    "02.2": ("02_mnist_callbacks", "plateau_rate", "plateau_rate = ...  # a float"),
    "02.3": ("02_mnist_callbacks", "halve_every_3",
             "def halve_every_3(epoch, lr):\n    ...  # your code here: return the rate for this epoch"),
    "02.4": ("02_mnist_callbacks", "make_weights_checkpoint",
             "def make_weights_checkpoint(folder):\n    ...  # your code here: return a ModelCheckpoint"),
    "03.1": ("03_fashion_mnist_dropout_early_stopping", "best_epoch", "best_epoch = ...  # a whole number"),
    "03.2": ("03_fashion_mnist_dropout_early_stopping", "kept_value", "kept_value = ...  # a number"),
    "03.3": ("03_fashion_mnist_dropout_early_stopping", "model_with_dropout",
             "def model_with_dropout(rate):\n    ...  # your code here: return the model"),
    "03.4": ("03_fashion_mnist_dropout_early_stopping", "make_callbacks",
             "def make_callbacks(folder):\n    ...  # your code here: return [checkpoint, early_stopping]"),
    "04.1": ("04_functional_and_subclassed_models", "param_count", "param_count = ...  # a whole number"),
    "04.2": ("04_functional_and_subclassed_models", "which_api",
             'which_api = ...  # "sequential", "functional" or "subclassed"'),
    "04.3": ("04_functional_and_subclassed_models", "build_two_output_model",
             "def build_two_output_model():\n    ...  # your code here: return the model"),
    "04.4": ("04_functional_and_subclassed_models", "MyMLP", "class MyMLP(keras.Model):\n    ...  # your code here"),
    "05.1": ("05_custom_training_loop", "batch_loss_answer", 'batch_loss_answer = ...  # "a" or "b"'),
    "05.2": ("05_custom_training_loop", "MAEMetric",
             "class MAEMetric(keras.metrics.Metric):\n    ...  # your code here"),
    "05.3": ("05_custom_training_loop", "EpochRecorder",
             "class EpochRecorder(keras.callbacks.Callback):\n    ...  # your code here"),
    "05.4": ("05_custom_training_loop", "MAEModel", "class MAEModel(keras.Model):\n    ...  # your code here"),
    "06.1": ("06_reliable_training", "resume_epoch", "resume_epoch = ...  # a whole number"),
    "06.2": ("06_reliable_training", "nan_in_checkpoint", "nan_in_checkpoint = ...  # True or False"),
    "06.3": ("06_reliable_training", "atomic_save", "def atomic_save(model, path):\n    ...  # your code here"),
    "06.4": ("06_reliable_training", "fit_resumably",
             "def fit_resumably(model, x, y, run):\n    ...  # your code here"),
    "07.1": ("07_distributed_training", "global_batch", "global_batch = ...  # a whole number"),
    "07.2": ("07_distributed_training", "loss_factor", "loss_factor = ...  # a number"),
    "07.3": ("07_distributed_training", "make_model",
             "def make_model(strategy):\n    ...  # your code here: return the compiled model"),
    "07.4": ("07_distributed_training", "average_loss",
             "def average_loss(per_example_losses, global_batch_size):\n    ...  # your code here"),
}

def _mae_model_with(*edits: tuple[str, str]) -> str:
    """The source of solutions/05's ``MAEModel`` with each ``(old, new)`` edit applied (each must match)."""
    text = (SOLUTIONS / "05_custom_training_loop.py").read_text()
    source = text[text.index("class MAEModel(keras.Model):"):text.index('\n\nif __name__ == "__main__":')]
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return source


# exercise id -> [(source that defines the answer's name, a phrase the feedback must contain)]
WRONG: dict[str, list[tuple[str, str]]] = {
    "01.1": [("stop_epoch = 7", "strictly better"), ("stop_epoch = 5", "counts from 0"),
             ("stop_epoch = 'six'", "not a whole number")],
    "01.2": [
        ('checkpoint_files = ["model-01-0.7083.keras", "model-02-0.7083.keras", "model-03-0.9167.keras", '
         '"model-05-1.0000.keras"]', "epoch 2 writes no file"),
        ('checkpoint_files = ["model-00-0.7083.keras", "model-02-0.9167.keras", "model-04-1.0000.keras"]', "1-based"),
    ],
    "01.3": [
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.9:
                    self.model.stop_training = True
        """, "stopped at epoch 2, when val_accuracy was 0.91 (< 0.97)"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def __init__(self, target=0.97):
                super().__init__()
                self.target = target
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] > self.target:
                    self.model.stop_training = True
        """, "one epoch late"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def __init__(self, target=0.97):
                super().__init__()
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.97:
                    self.model.stop_training = True
        """, "with StopAtAccuracy(target=0.9)"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs["val_accuracy"] >= 0.97:
                    self.stop_training = True
        """, "never stopped"),
        ("""
        class StopAtAccuracy(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs.val_accuracy >= 0.97:
                    self.model.stop_training = True
        """, "raised AttributeError"),
    ],
    "01.4": [
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_accuracy",
                                                   mode="min", save_best_only=True)
        """, "saved at epochs [1]"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.h5"), monitor="val_accuracy",
                                                   save_best_only=True)
        """, "legacy"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), save_best_only=True)
        """, "monitors 'val_loss'"),
        ("""
        def make_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_accuracy")
        """, "save_best_only=True"),
    ],
    "02.1": [("rate_epoch_8 = 0.01 * math.exp(-0.4)", "9th epoch"), ("rate_epoch_8 = 0.01", "first 5 epochs"),
             ("rate_epoch_8 = 0.01 * math.exp(-0.8)", "decay in every epoch")],
    "02.2": [("plateau_rate = 0.00025", "only equals the best"), ("plateau_rate = 0.0005", "halved 1 time")],
    "02.3": [
        ("""
        def halve_every_3(epoch, lr):
            return lr * 0.5 if epoch % 3 == 0 else lr
        """, "First difference at epoch=0"),
        ("""
        def halve_every_3(epoch, lr):
            return 0.1 * 0.5 ** (epoch // 3)
        """, "use the `lr` argument"),
        ("""
        def halve_every_3(epoch, lr):
            return keras.ops.convert_to_tensor(lr * 0.5 if epoch and epoch % 3 == 0 else lr)
        """, "raised ValueError"),
    ],
    "02.4": [
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), save_best_only=True)
        """, "saves the whole model"),
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.weights.h5"), monitor="val_accuracy",
                                                   save_weights_only=True, save_best_only=True)
        """, "monitors 'val_accuracy'"),
        ("""
        def make_weights_checkpoint(folder):
            return keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.ckpt"), save_weights_only=True,
                                                   save_best_only=True)
        """, "raised ValueError"),
    ],
    "03.1": [("best_epoch = 8", "*training* loss"), ("best_epoch = 5", "validation loss 0.36")],
    "03.2": [("kept_value = 0.7", "share of values kept"), ("kept_value = 1.0", "inference")],
    "03.3": [
        ("""
        def model_with_dropout(rate):
            return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                     keras.layers.Dense(100, activation="relu"),
                                     keras.layers.Dense(10, activation="softmax"), keras.layers.Dropout(rate)])
        """, "not between"),
        ("""
        from keraslab.models import model_fn
        def model_with_dropout(rate):
            return model_fn()
        """, "no Dropout layer"),
        ("""
        from keraslab.models import model_fn
        def model_with_dropout(rate):
            return model_fn(keras.layers.Dropout(0.3))
        """, "model_with_dropout(0.5)"),
    ],
    "03.4": [
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.ModelCheckpoint(os.path.join(folder, "best-model.keras"), save_best_only=True),
                    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)]
        """, "restore_best_weights=True"),
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.ModelCheckpoint(os.path.join(folder, "best-model.keras"), save_best_only=True),
                    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)]
        """, "never stopped"),
        ("""
        def make_callbacks(folder):
            return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)]
        """, "0 ModelCheckpoint"),
    ],
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
    "05.1": [('batch_loss_answer = "a"', "Keras 2"), ('batch_loss_answer = "c"', "one of")],
    "05.2": [
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="mae", **kwargs):
                super().__init__(name=name, **kwargs)
                self.sum_of_means = self.add_weight(name="s", initializer="zeros")
                self.batches = self.add_weight(name="b", initializer="zeros")
            def update_state(self, y_true, y_pred, sample_weight=None):
                self.sum_of_means.assign_add(keras.ops.mean(keras.ops.abs(y_true - y_pred)))
                self.batches.assign_add(1.0)
            def result(self):
                return self.sum_of_means / self.batches
        """, "mean of the two batch means"),
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="mae", **kwargs):
                super().__init__(name=name, **kwargs)
                self.total = self.add_weight(name="t", initializer="zeros")
                self.count = self.add_weight(name="c", initializer="zeros")
            def update_state(self, y_true, y_pred, sample_weight=None):
                self.total.assign_add(keras.ops.sum(keras.ops.abs(y_true - y_pred)))
                self.count.assign_add(keras.ops.cast(keras.ops.size(y_true), "float32"))
            def result(self):
                return self.total / self.count
            def reset_state(self):
                pass
        """, "after reset_state()"),
        ("""
        class MAEMetric(keras.metrics.Metric):
            def __init__(self, name="my_mae", **kwargs):
                super().__init__(name=name, **kwargs)
        """, "is named 'my_mae'"),
    ],
    "05.3": [
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.epoch_losses, self.batches, self.count = [], [], 0
            def on_train_batch_end(self, batch, logs=None):
                self.count += 1
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["loss"])
                self.batches.append(self.count)
        """, "restart every epoch"),
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.epoch_losses, self.batches = [], []
            def on_epoch_begin(self, epoch, logs=None):
                self.batches.append(0)
            def on_train_batch_end(self, batch, logs=None):
                self.batches[-1] += 1
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["val_loss"])
        """, "epoch_losses is"),
        ("""
        class EpochRecorder(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                self.epoch_losses.append(logs["loss"])
        """, "raised AttributeError"),
    ],
    "05.4": [  # the solution, each time with one mistake
        (_mae_model_with(("        with tf.GradientTape() as tape:\n", ""),
                         ("            predictions = self(", "        predictions = self("),
                         ("            loss = self.compute_loss(", "        loss = self.compute_loss("),
                         ("        gradients = tape.gradient(loss, self.trainable_weights)\n", ""),
                         ("        self.optimizer.apply_gradients("
                          "zip(gradients, self.trainable_weights, strict=True))\n", "")), "have not changed"),
        (_mae_model_with(('        self.mae_tracker = keras.metrics.MeanAbsoluteError(name="mae")\n', "")),
         "no 'mae'"),
        (_mae_model_with(('            if metric.name == "loss":\n                metric.update_state(loss)\n'
                          "            else:\n                metric.update_state(targets, predictions)",
                          '            if metric.name != "loss":  # the loss tracker is skipped\n'
                          "                metric.update_state(targets, predictions)"),
                         ("        return {m.name: m.result() for m in self.metrics}",
                          '        return {"loss": loss, "mae": self.mae_tracker.result()}')),
         "not the last batch's loss"),
    ],
    "06.1": [("resume_epoch = 1", "start over"), ("resume_epoch = 8", "interrupted")],
    "06.2": [("nan_in_checkpoint = False", "does hold NaN"), ("nan_in_checkpoint = 'perhaps'", "True or False")],
    "06.3": [
        ("""
        def atomic_save(model, path):
            model.save(path)
        """, "overwrote the previous file"),
        ("""
        def atomic_save(model, path):
            tmp = str(path) + ".tmp.keras"
            model.save(tmp)
            os.replace(tmp, path)
        """, "left a temporary file behind"),
        ("""
        def atomic_save(model, path):
            tmp = str(path) + ".tmp"
            model.save(tmp)
            os.replace(tmp, path)
        """, "raised ValueError"),
    ],
    "06.4": [
        ("""
        def fit_resumably(model, x, y, run):
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0)
        """, "trained all 6 epochs again"),
        ("""
        import tempfile
        def fit_resumably(model, x, y, run):
            backup = keras.callbacks.BackupAndRestore(tempfile.mkdtemp())  # a new folder every call
            model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=[backup])
        """, "with the run you are given"),
        ("""
        def fit_resumably(model, x, y, run):
            model.fit(x, y, epochs=5, batch_size=32, validation_split=0.2, shuffle=False, verbose=0,
                      callbacks=resume.resumable_callbacks(run))
        """, "not 6 epochs"),
    ],
    "07.1": [("global_batch = 64", "batch of one replica"), ("global_batch = 16", "multiply")],
    "07.2": [("loss_factor = 1", "not right"), ("loss_factor = 0.5", "too large, not too small")],
    "07.3": [
        ("""
        from keraslab.models import get_mnist_model
        def make_model(strategy):
            model = get_mnist_model()
            with strategy.scope():
                model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
            return model
        """, "outside strategy.scope()"),
        ("""
        from keraslab.models import get_mnist_model
        def make_model(strategy):
            with strategy.scope():
                return get_mnist_model()
        """, "not compiled"),
    ],
    "07.4": [
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_mean(per_example_losses)
        """, "2.5"),
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_sum(per_example_losses)
        """, "not 1.25"),
        ("""
        def average_loss(per_example_losses, global_batch_size):
            return tf.reduce_sum(per_example_losses) / 8
        """, "inside strategy.run"),
    ],
}


def namespace(source: str) -> dict:
    """Run ``source`` as a notebook cell would, with the usual imports available."""
    import tensorflow as tf

    from keraslab import resume

    scope = {"keras": keras, "np": np, "os": os, "math": math, "tf": tf, "resume": resume}
    exec(textwrap.dedent(source), scope)  # noqa: S102 (test inputs written above)
    return scope


@cache
def solutions(stem: str) -> dict:
    return runpy.run_path(str(SOLUTIONS / f"{stem}.py"), run_name="solutions")


def run_checker(exercise_id: str, answer, capsys) -> tuple[object, str]:
    capsys.readouterr()
    result = exercises.check(exercise_id, answer)
    return result, capsys.readouterr().out


def test_every_lesson_has_3_to_5_exercises_with_a_question_and_a_coding_task():
    assert sorted(exercises.EXERCISES) == sorted(TABLE)
    for lesson in range(1, 8):
        entries = exercises.list_exercises(lesson)
        assert 3 <= len(entries) <= 5, lesson
        assert {e.kind for e in entries} == {"question", "coding"}, lesson
    for entry in exercises.EXERCISES.values():
        assert entry.checker.__doc__ and "Args:" in entry.checker.__doc__ and "Example" in entry.checker.__doc__


def test_one_solution_file_per_lesson():
    stems = sorted(p.stem for p in SOLUTIONS.glob("0*.py"))
    assert stems == sorted({stem for stem, _, _ in TABLE.values()})
    assert stems == sorted(p.stem for p in (REPO / "notebooks").glob("0*.ipynb"))
    assert (SOLUTIONS / "README.md").is_file()


@pytest.mark.parametrize("exercise_id", sorted(TABLE))
def test_solution_is_correct(exercise_id, capsys):
    stem, name, _ = TABLE[exercise_id]
    result, out = run_checker(exercise_id, solutions(stem)[name], capsys)
    assert out.startswith("✅ Correct: "), out
    assert result is True


@pytest.mark.parametrize("exercise_id", sorted(TABLE))
def test_placeholder_is_not_solved_yet(exercise_id, capsys):
    _, name, placeholder = TABLE[exercise_id]
    result, out = run_checker(exercise_id, namespace(placeholder)[name], capsys)
    assert out.startswith("⏳ Not solved yet: "), out
    assert "replace the `...`" in out
    assert result is None


WRONG_CASES = [(eid, i) for eid in sorted(WRONG) for i in range(len(WRONG[eid]))]


@pytest.mark.parametrize(("exercise_id", "case"), WRONG_CASES, ids=[f"{e}-{i}" for e, i in WRONG_CASES])
def test_wrong_answer_says_what_is_wrong(exercise_id, case, capsys):
    source, phrase = WRONG[exercise_id][case]
    _, name, _ = TABLE[exercise_id]
    result, out = run_checker(exercise_id, namespace(source)[name], capsys)
    assert out.startswith("❌ Not yet: "), out
    assert phrase in out, out
    assert "Hint: " in out or "\n" not in out.strip(), out
    assert result is False


def test_every_exercise_has_a_wrong_answer():
    assert sorted(WRONG) == sorted(TABLE)


def _raises(*args, **kwargs):
    raise RuntimeError("the learner's code broke")


class _Broken(keras.callbacks.Callback):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("the learner's code broke")


@pytest.mark.parametrize("garbage", [None, 42, "x", [], _raises, _Broken, object()],
                         ids=["None", "int", "str", "list", "raising-function", "raising-class", "object"])
def test_checkers_never_raise(garbage, capsys):
    for exercise_id in sorted(TABLE):
        result, out = run_checker(exercise_id, garbage, capsys)
        assert result in (True, False, None), (exercise_id, result)
        assert out.startswith(("✅", "❌", "⏳")), (exercise_id, out)


def test_check_unknown_exercise(capsys):
    result, out = run_checker("09.9", 1, capsys)
    assert result is None and "there is no exercise '09.9'" in out


def test_checkers_leave_no_files_behind(tmp_path, monkeypatch):
    """Coding checks write only to temporary folders they remove: not to the working folder, nor to the
    course's logs/checkpoints folders (redirected into tmp_path by conftest)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for exercise_id in ("01.4", "02.4", "03.4", "06.3", "06.4"):
        stem, name, _ = TABLE[exercise_id]
        assert exercises.check(exercise_id, solutions(stem)[name]) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd"]
    assert list(cwd.iterdir()) == []


# --------------------------------------------------------------------------- the questions' answers, by Keras itself
def _scripted(callback, logs: list[dict], model=None) -> int:
    model = model or keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    callbacks = keras.callbacks.CallbackList([callback], model=model)
    model.stop_training = False
    callbacks.on_train_begin()
    for epoch, epoch_logs in enumerate(logs):
        callbacks.on_epoch_begin(epoch)
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end()
    return epoch + 1


def test_answer_01_1_matches_early_stopping():
    stopper = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3, mode="max")
    values = [0.70, 0.80, 0.85, 0.85, 0.83, 0.84, 0.90, 0.92]
    assert _scripted(stopper, [{"val_accuracy": v} for v in values]) == solutions("01_iris_checkpoint")["stop_epoch"]
    assert stopper.stopped_epoch == 5


def test_answer_01_2_matches_model_checkpoint(tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "model-{epoch:02d}-{val_accuracy:.4f}.keras"), monitor="val_accuracy", mode="max",
        save_best_only=True,
    )
    _scripted(checkpoint, [{"val_accuracy": v} for v in [0.7083, 0.7083, 0.9167, 0.8750, 1.0000]])
    assert sorted(p.name for p in tmp_path.iterdir()) == solutions("01_iris_checkpoint")["checkpoint_files"]


def test_answer_02_1_matches_course_schedule():
    def schedule(epoch, lr):  # lesson 02's schedule: keep the rate for 5 epochs, then decay it by exp(-0.1)
        return float(lr) if epoch < 5 else float(lr * math.exp(-0.1))

    lr = 0.01
    for epoch in range(8):  # the rate set at the start of the 8th epoch (epoch=7)
        lr = schedule(epoch, lr)
    assert math.isclose(lr, solutions("02_mnist_callbacks")["rate_epoch_8"], rel_tol=1e-9)


def test_answer_02_2_matches_reduce_lr_on_plateau():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    _scripted(plateau, [{"val_loss": v} for v in [0.30, 0.25, 0.26, 0.27, 0.24, 0.24]], model)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert math.isclose(rate, solutions("02_mnist_callbacks")["plateau_rate"], rel_tol=1e-5)


def test_answer_03_2_matches_dropout():
    out = keras.ops.convert_to_numpy(keras.layers.Dropout(0.3, seed=1)(np.ones((100, 10), "float32"), training=True))
    kept = np.unique(out[out != 0])
    np.testing.assert_allclose(kept, solutions("03_fashion_mnist_dropout_early_stopping")["kept_value"], rtol=1e-6)


def test_answer_04_1_matches_count_params():
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    assert model.count_params() == solutions("04_functional_and_subclassed_models")["param_count"]


def test_answer_05_1_batch_logs_are_a_running_mean():
    class LastBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.last = float(logs["loss"])

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    recorder = LastBatch()
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    history = model.fit(x, x[:, :1] * 3, batch_size=8, epochs=1, verbose=0, callbacks=[recorder])
    assert solutions("05_custom_training_loop")["batch_loss_answer"] == "b"
    assert math.isclose(recorder.last, history.history["loss"][0], rel_tol=1e-6)
