"""Check the learner's answers to the exercises (확인 문제) at the end of lessons 01-07.

Every lesson ends with 3-5 exercises: questions of understanding (answer with a
value) and coding tasks on the lesson's own API (answer with a class or a
function). Each exercise has a checker here. A checker

- prints one to a few lines of feedback that start with a clear status:
  ``✅ Correct: ...``, ``❌ Not yet: ... Hint: ...`` or
  ``⏳ Not solved yet: replace the `...` with your answer.``;
- returns ``True`` (correct), ``False`` (not yet) or ``None`` (not solved yet);
- never raises, whatever it is given: an exception from the learner's code
  becomes feedback that names it, so *Run All* passes with unsolved exercises.

Coding checks run the learner's object for real, in seconds: on a tiny model
fed scripted ``logs`` (a callback), or trained for a few epochs on a few hundred
synthetic samples. Any files go to a temporary folder that is removed. Lessons
01-04 and 06 are checked with ``keras.ops`` and NumPy only (backend-agnostic);
lesson 05's ``train_step`` and lesson 07's ``tf.distribute`` checks need
TensorFlow and say so on another backend.

Call a checker by name, or by the exercise's number with :func:`check`::

    from keraslab import exercises
    stop_epoch = 6
    exercises.check_01_stop_epoch(stop_epoch)
    exercises.check("01.1", stop_epoch)      # the same

The solutions are in ``solutions/NN_*.py`` in the repository, one file per lesson.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import io
import math
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

__all__ = [
    "EXERCISES",
    "Exercise",
    "check",
    "list_exercises",
    "check_01_stop_epoch",
    "check_01_checkpoint_files",
    "check_01_stop_at_accuracy",
    "check_01_best_checkpoint",
    "check_02_schedule_rate",
    "check_02_plateau_rate",
    "check_02_halving_schedule",
    "check_02_weights_checkpoint",
    "check_03_best_epoch",
    "check_03_dropout_value",
    "check_03_dropout_model",
    "check_03_best_model_callbacks",
    "check_04_param_count",
    "check_04_which_api",
    "check_04_two_output_model",
    "check_04_subclassed_mlp",
    "check_05_batch_logs",
    "check_05_mae_metric",
    "check_05_epoch_recorder",
    "check_05_train_step_mae",
    "check_06_resume_epoch",
    "check_06_nan_checkpoint",
    "check_06_atomic_save",
    "check_06_resumable_run",
    "check_07_global_batch",
    "check_07_loss_factor",
    "check_07_model_in_scope",
    "check_07_average_loss",
]

CORRECT, WRONG, UNSOLVED = "correct", "wrong", "unsolved"
_UNSOLVED_ANSWER = "replace the `...` with your answer."


# --------------------------------------------------------------------------- feedback
class _Verdict(Exception):
    """The outcome of a check; raised anywhere inside a checker to end it."""

    def __init__(self, status: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint

    def show(self) -> bool | None:
        if self.status == CORRECT:
            print(f"✅ Correct: {self.message}")
            return True
        if self.status == UNSOLVED:
            print(f"⏳ Not solved yet: {self.message}")
            return None
        print(f"❌ Not yet: {self.message}" + (f"\n   Hint: {self.hint}" if self.hint else ""))
        return False


def _correct(message: str) -> _Verdict:
    return _Verdict(CORRECT, message)


def _wrong(message: str, hint: str | None = None) -> _Verdict:
    """Raise this: the answer is wrong; say what is wrong and give a hint."""
    return _Verdict(WRONG, message, hint)


def _unsolved(message: str = _UNSOLVED_ANSWER) -> _Verdict:
    return _Verdict(UNSOLVED, message)


def _describe(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (at most 200 characters)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def _quiet():
    """Keep the learner's prints, Keras progress lines and warnings out of the feedback."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def _run(what: str, hint: str, fn: Callable, *args, **kwargs):
    """Call the learner's code; turn any exception into feedback naming it."""
    try:
        return fn(*args, **kwargs)
    except _Verdict:
        raise
    except (Exception, SystemExit) as exc:
        raise _wrong(f"{what} raised {_describe(exc)}", hint) from None


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number (``"01.1"``), kind (question or coding), title and checker."""

    id: str
    kind: str
    title: str
    checker: Callable[..., bool | None]


EXERCISES: dict[str, Exercise] = {}


_RETURNS_DOC = """    Returns:
        True, False or None (not solved yet); prints feedback, never raises.

"""


def _exercise(exercise_id: str, kind: str, title: str):
    """Register a checker and make it print its verdict and never raise.

    Every checker returns the same thing, so its docstring's ``Returns:`` section is
    added here, before its ``Example``.
    """

    def decorate(fn):
        fn.__doc__ = fn.__doc__.replace("    Example", _RETURNS_DOC + "    Example", 1)
        @functools.wraps(fn)
        def checker(answer=...):
            try:
                with _quiet():
                    verdict = fn(answer)
            except _Verdict as raised:
                verdict = raised
            except (Exception, SystemExit) as exc:
                verdict = _wrong(
                    f"checking your answer raised {_describe(exc)}",
                    "compare your answer with what the task asks for (its type, names and arguments).",
                )
            return verdict.show()

        EXERCISES[exercise_id] = Exercise(exercise_id, kind, title, checker)
        return checker

    return decorate


def check(exercise: str, answer=...) -> bool | None:
    """Check the answer to exercise ``exercise`` ("01.1" ... "07.4") and print feedback.

    Args:
        exercise: the exercise's number, lesson and position, e.g. ``"02.3"``.
        answer: what the exercise asks for (a value, a function or a class).

    Returns:
        ``True`` if correct, ``False`` if not yet, ``None`` if not solved yet (or
        no such exercise). Never raises.

    Example:

    >>> from keraslab import exercises
    >>> exercises.check("07.1", ...)
    ⏳ Not solved yet: replace the `...` with your answer.
    >>> exercises.check("07.1", 256)
    ✅ Correct: 64 samples on each of 4 replicas make a global batch of 256 samples.
    True
    """
    entry = EXERCISES.get(str(exercise).strip())
    if entry is None:
        print(f"❌ Not yet: there is no exercise {exercise!r}.\n   Hint: use one of {', '.join(EXERCISES)}.")
        return None
    return entry.checker(answer)


def list_exercises(lesson: str | int | None = None) -> list[Exercise]:
    """The exercises, optionally of one lesson only.

    Args:
        lesson: ``"01"`` or ``1``; ``None`` for all lessons.

    Example:

    >>> [e.id for e in list_exercises(7)]
    ['07.1', '07.2', '07.3', '07.4']
    """
    if lesson is None:
        return list(EXERCISES.values())
    prefix = f"{int(lesson):02d}."
    return [e for e in EXERCISES.values() if e.id.startswith(prefix)]


# --------------------------------------------------------------------------- answers
def _number(answer, unit: str = "a number"):
    """The answer as a float, or feedback that it is not a number."""
    if answer is ...:
        raise _unsolved()
    if isinstance(answer, bool) or answer is None:
        raise _wrong(f"your answer is {answer!r}, not {unit}.", f"write {unit}, e.g. `answer = 3`.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise _wrong(f"your answer is {answer!r}, not {unit}.", f"write {unit}, e.g. `answer = 3`.") from None
    if not math.isfinite(value):
        raise _wrong(f"your answer is {value}, not a finite number.")
    return value


def _whole(answer) -> int:
    value = _number(answer, "a whole number")
    if value != int(value):
        raise _wrong(f"your answer {value:g} is not a whole number.", "answer with a whole number, e.g. 5.")
    return int(value)


def _choice(answer, options: dict[str, str]) -> str:
    """The chosen option's key; ``options`` maps accepted spellings to keys."""
    if answer is ...:
        raise _unsolved()
    text = str(answer).strip().strip("()").lower() if isinstance(answer, str) else None
    if text is None or text not in options:
        keys = sorted(set(options.values()))
        raise _wrong(f"your answer is {answer!r}.", f"answer with one of: {', '.join(repr(k) for k in keys)}.")
    return options[text]


def _stub_code() -> None: ...


def _is_stub_function(fn) -> bool:
    """A function whose body does nothing (``...``, ``pass`` or a docstring only)."""
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_code == _stub_code.__code__.co_code


def _own_functions(cls: type, base: type) -> dict[str, object]:
    """Methods the learner's class (and its bases below ``base``) define."""
    own = {}
    for klass in cls.__mro__:
        if klass is base or not issubclass(klass, base):
            break
        for name, value in vars(klass).items():
            func = value.fget if isinstance(value, property) else value
            func = getattr(func, "__func__", func)
            if callable(func) and (name == "__init__" or not name.startswith("__")):
                own.setdefault(name, func)
    return own


def _learner_class(answer, base: type, name: str, base_name: str) -> type:
    """Check the answer is a real subclass of ``base``; "not solved" for an empty stub."""
    if answer is ...:
        raise _unsolved(f"replace the `...` in `{name}` with your code.")
    if not inspect.isclass(answer):
        raise _wrong(f"`{name}` should be a class, but it is {type(answer).__name__}.",
                     f"write `class {name}({base_name}):`.")
    if not issubclass(answer, base):
        raise _wrong(f"`{name}` does not subclass {base_name}.", f"write `class {name}({base_name}):`.")
    methods = _own_functions(answer, base)
    if not methods or all(_is_stub_function(f) for f in methods.values()):
        raise _unsolved(f"replace the `...` in `{name}` with your code.")
    return answer


def _learner_function(answer, name: str) -> Callable:
    if answer is ...:
        raise _unsolved(f"replace the `...` in `{name}` with your code.")
    if not callable(answer) or inspect.isclass(answer):
        raise _wrong(f"`{name}` should be a function, but it is {type(answer).__name__}.", f"write `def {name}(...):`.")
    if _is_stub_function(answer):
        raise _unsolved(f"replace the `...` in `{name}` with your code.")
    return answer


def _returned(value, call: str, what: str):
    """A factory's result; ``None`` means the learner has not written the ``return`` yet."""
    if value is None:
        raise _unsolved(f"`{call}` returned None: replace the `...` with your code and return {what}.")
    return value


def _fmt(values, digits: int = 4) -> str:
    return ", ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in values)


def _rate(value: float) -> str:
    """A learning rate with 4 significant digits: 0.007408, 0.000125."""
    return f"{value:.4g}"


# --------------------------------------------------------------------------- tiny models and scripted training
def _tiny_model(num_features: int = 4, num_classes: int = 3, *, compiled: bool = True) -> keras.Model:
    """A built, compiled 4 -> 3 softmax model whose compiled metrics (accuracy) already exist.

    ``mode="auto"`` callbacks read the direction of ``val_accuracy`` from the
    compiled metrics, which Keras builds only on their first update.
    """
    model = keras.Sequential([keras.Input((num_features,)), keras.layers.Dense(num_classes, activation="softmax")])
    if compiled:
        model.compile(
            optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        x = np.zeros((2, num_features), dtype="float32")
        model.compute_metrics(x, np.zeros((2,), dtype="int64"), model(x))
    return model


def _mark(model: keras.Model, epoch: int) -> None:
    """Set every weight to ``epoch``, so a saved or restored model tells which epoch it holds."""
    model.set_weights([np.full(w.shape, float(epoch), dtype=w.dtype) for w in model.get_weights()])


def _marker(model: keras.Model) -> int:
    return int(round(float(np.asarray(model.get_weights()[0]).ravel()[0])))


def _script(callbacks: list, model: keras.Model, logs: list[dict], after_epoch: Callable | None = None) -> int:
    """Drive ``callbacks`` through ``len(logs)`` epochs of scripted logs, as ``fit`` would.

    The model's weights are set to the epoch number (1-based) before each
    epoch ends. Returns the number of epochs run (training stops early when a
    callback sets ``model.stop_training``).
    """
    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training = False
    callback_list.on_train_begin()
    epochs_run = 0
    for epoch, epoch_logs in enumerate(logs):
        callback_list.on_epoch_begin(epoch)
        _mark(model, epoch + 1)
        callback_list.on_epoch_end(epoch, dict(epoch_logs))
        epochs_run = epoch + 1
        if after_epoch is not None:
            after_epoch(epoch + 1)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return epochs_run


def _epoch_logs(**series: list[float]) -> list[dict]:
    """``_epoch_logs(val_loss=[...], val_accuracy=[...])`` -> one logs dict per epoch."""
    length = len(next(iter(series.values())))
    return [{"loss": 1.0, "accuracy": 0.5, **{k: float(v[i]) for k, v in series.items()}} for i in range(length)]


def _classification_data(samples: int = 128, features: int = 4, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, features))
    y = rng.integers(0, classes, samples)
    x = (centers[y] + rng.normal(0, 1, (samples, features))).astype("float32")
    return x, y.astype("int64")


def _backend_is_tensorflow(what: str) -> None:
    if keras.backend.backend() != "tensorflow":
        raise _unsolved(f"{what} needs the TensorFlow backend (KERAS_BACKEND=tensorflow); this kernel runs "
                        f"{keras.backend.backend()}.")


# =========================================================================== lesson 01
_VAL_ACCURACY_01 = [0.70, 0.80, 0.85, 0.85, 0.83, 0.84, 0.90, 0.92]


@_exercise("01.1", "question", "After which epoch does EarlyStopping(patience=3) stop?")
def check_01_stop_epoch(answer=...):
    """Question: ``EarlyStopping(monitor="val_accuracy", patience=3)`` sees the
    val_accuracy values 0.70, 0.80, 0.85, 0.85, 0.83, 0.84, 0.90, 0.92 (epochs 1-8).
    After which epoch (1-based, as in ``Epoch 6/100``) does training stop?

    Args:
        answer: a whole number, the 1-based epoch after which training stops.

    Example:

    >>> check_01_stop_epoch(...)
    ⏳ Not solved yet: replace the `...` with your answer.
    """
    epoch = _whole(answer)
    if epoch == 6:
        raise _correct(
            "the best value, 0.85, comes at epoch 3; epochs 4, 5 and 6 do not beat it (0.85 is not more than "
            "0.85), so after epoch 6 the patience of 3 is used up. EarlyStopping.stopped_epoch is 5 (0-based)."
        )
    hints = {
        7: "you counted the second 0.85 (epoch 4) as an improvement: a value must be strictly better than the "
        "best so far (by more than min_delta=0) to count.",
        5: "5 is EarlyStopping.stopped_epoch, which counts from 0. The question asks for the epoch as the "
        "training log prints it (Epoch 1/100 is the first).",
        3: "epoch 3 is the best epoch. Training goes on until `patience` epochs in a row have not improved.",
        8: "training never reaches epoch 7's 0.90: it stops earlier.",
    }
    raise _wrong(
        f"training does not stop after epoch {epoch}.",
        hints.get(epoch, "find the best epoch, then count 3 epochs in a row that do not beat it."),
    )


_EXPECTED_FILES_01 = ["model-01-0.7083.keras", "model-03-0.9167.keras", "model-05-1.0000.keras"]
_VAL_ACCURACY_FILES_01 = [0.7083, 0.7083, 0.9167, 0.8750, 1.0000]


@_exercise("01.2", "question", "Which checkpoint files does save_best_only write?")
def check_01_checkpoint_files(answer=...):
    """Question: ``ModelCheckpoint("model-{epoch:02d}-{val_accuracy:.4f}.keras",
    monitor="val_accuracy", save_best_only=True)`` sees val_accuracy 0.7083, 0.7083,
    0.9167, 0.8750, 1.0000 (epochs 1-5). Which files does it write?

    Args:
        answer: a list of file names, e.g. ``["model-01-0.7083.keras", ...]``.

    Example::

        check_01_checkpoint_files(["model-01-0.7083.keras", "model-03-0.9167.keras", "model-05-1.0000.keras"])
    """
    if answer is ...:
        raise _unsolved()
    if isinstance(answer, str) or not isinstance(answer, (list, tuple, set)):
        raise _wrong(f"your answer is {answer!r}, not a list of file names.",
                     'write a list of strings, e.g. `["model-01-0.7083.keras"]`.')
    names = [str(n).strip() for n in answer]
    if sorted(names) == _EXPECTED_FILES_01:
        raise _correct(
            "epochs 1, 3 and 5 each beat the best val_accuracy so far; epoch 2 only ties it and epoch 4 is "
            "lower, so they write nothing. {epoch:02d} is 1-based and {val_accuracy:.4f} keeps 4 decimals."
        )
    if any("model-00-" in n for n in names) or "model-04-1.0000.keras" in names:
        raise _wrong("some names count epochs from 0.", "{epoch} in a checkpoint name is 1-based: the first epoch "
                     "writes model-01-....")
    if any(not n.endswith(".keras") for n in names):
        raise _wrong("some names do not end in .keras.", "the template ends in .keras, and so does every file.")
    if any(n.startswith("model-") and n.split("-")[-1] in ("1.0.keras", "1.keras") for n in names):
        raise _wrong("{val_accuracy:.4f} always writes 4 decimals.", "1.0 is written as 1.0000.")
    extra = sorted(set(names) - set(_EXPECTED_FILES_01))
    missing = sorted(set(_EXPECTED_FILES_01) - set(names))
    if "model-02-0.7083.keras" in extra:
        raise _wrong("epoch 2 writes no file.", "0.7083 at epoch 2 only equals the best so far; save_best_only saves "
                     "only when the value is strictly better.")
    if "model-04-0.8750.keras" in extra:
        raise _wrong("epoch 4 writes no file.", "0.8750 is below the best so far (0.9167), so save_best_only skips it.")
    raise _wrong(
        f"{len(missing)} expected file(s) missing from your list, {len(extra)} not written by Keras"
        + (f" ({', '.join(extra)})" if extra else "") + ".",
        "a file is written at every epoch whose val_accuracy beats all earlier epochs; its name holds the "
        "epoch (2 digits, from 1) and the value (4 decimals).",
    )


_STOP_SCRIPT_01 = [0.80, 0.91, 0.96, 0.97, 0.99]


def _stopped_at(callback, values: list[float], model: keras.Model) -> int | None:
    """The 1-based epoch at which the scripted run stopped, or None."""
    logs = _epoch_logs(val_accuracy=values, val_loss=[1.0 - v for v in values])
    epochs = _script([callback], model, logs)
    return epochs if model.stop_training else None


@_exercise("01.3", "coding", "A callback that stops once val_accuracy >= 0.97")
def check_01_stop_at_accuracy(answer=...):
    """Coding: ``class StopAtAccuracy(keras.callbacks.Callback)`` whose
    ``__init__(self, target=0.97)`` keeps the target and which stops training at
    the end of the first epoch with ``logs["val_accuracy"] >= target``.

    The check feeds scripted val_accuracy values to the callback on a tiny
    model, then trains a tiny model with ``fit`` and ``StopAtAccuracy(target=0.0)``.

    Args:
        answer: the class ``StopAtAccuracy`` (not an instance).

    Example::

        class StopAtAccuracy(keras.callbacks.Callback):
            ...  # your code here

        exercises.check_01_stop_at_accuracy(StopAtAccuracy)
    """
    cls = _learner_class(answer, keras.callbacks.Callback, "StopAtAccuracy", "keras.callbacks.Callback")
    hint_init = "give __init__ a default: `def __init__(self, target=0.97):` then `super().__init__()`."
    callback = _run("`StopAtAccuracy()`", hint_init, cls)
    model = _tiny_model()
    hint_stop = "in on_epoch_end(self, epoch, logs), set `self.model.stop_training = True` when it is high enough."
    stopped = _run("your callback", hint_stop, _stopped_at, callback, _STOP_SCRIPT_01, model)
    if stopped is None:
        raise _wrong(f"your callback never stopped training (val_accuracy went {_fmt(_STOP_SCRIPT_01, 2)}).", hint_stop)
    if stopped != 4:
        value = _STOP_SCRIPT_01[stopped - 1]
        if stopped < 4:
            raise _wrong(f"your callback stopped at epoch {stopped}, when val_accuracy was {value:.2f} (< 0.97).",
                         "stop only when logs['val_accuracy'] >= self.target (read it from logs, not loss).")
        raise _wrong(f"your callback stopped at epoch {stopped} (val_accuracy {value:.2f}), one epoch late: "
                     "epoch 4 already reached 0.97.", "use >=, not >: reaching the target is enough.")
    callback = _run("`StopAtAccuracy(target=0.9)`", "accept the target as an argument: "
                    "`def __init__(self, target=0.97):`.", cls, target=0.9)
    stopped = _run("your callback", hint_stop, _stopped_at, callback, [0.85, 0.93, 0.95], _tiny_model())
    if stopped != 2:
        raise _wrong(
            "with StopAtAccuracy(target=0.9) and val_accuracy 0.85, 0.93, 0.95 your callback "
            + ("never stopped" if stopped is None else f"stopped at epoch {stopped}") + " (expected: epoch 2).",
            "store the argument (`self.target = target`) and compare with self.target, not with 0.97.",
        )
    keras.utils.set_random_seed(0)
    x, y = _classification_data(96)
    model = _tiny_model()
    callback = _run("`StopAtAccuracy(target=0.0)`", hint_init, cls, target=0.0)
    history = _run("fit() with your callback", hint_stop, model.fit, x[:64], y[:64], validation_data=(x[64:], y[64:]),
                   epochs=3, batch_size=32, verbose=0, callbacks=[callback])
    if len(history.epoch) != 1:
        raise _wrong(f"inside fit(), StopAtAccuracy(target=0.0) let {len(history.epoch)} epochs run instead of 1.",
                     hint_stop)
    raise _correct("your callback stopped at epoch 4, when val_accuracy first reached 0.97, honoured "
                   "target=0.9, and stopped a real fit() run after its first epoch.")


def _saved_epochs(callback, model, logs, folder: Path):
    """Run scripted epochs; return (epochs at which a file changed, the last file written)."""
    state: dict[str, str] = {}
    saved: list[int] = []
    last: list[Path] = []

    def after_epoch(epoch):
        changed = []
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if state.get(str(path)) != digest:
                    state[str(path)] = digest
                    changed.append(path)
        if changed:
            saved.append(epoch)
            last[:] = changed[:1]

    _script([callback], model, logs, after_epoch)
    return saved, (last[0] if last else None)


_CHECKPOINT_LOGS = _epoch_logs(val_accuracy=[0.50, 0.80, 0.70, 0.90], val_loss=[0.90, 0.50, 0.40, 0.45])


def _check_checkpoint(factory, name: str, *, monitor: str, weights_only: bool, expected: list[int]) -> _Verdict:
    """Shared check of exercises 01.4 and 02.4: a ModelCheckpoint factory, run on scripted logs."""
    fn = _learner_function(factory, name)
    other = "val_loss" if monitor == "val_accuracy" else "val_accuracy"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hint = "return keras.callbacks.ModelCheckpoint(os.path.join(folder, ...), ...)."
        callback = _returned(_run(f"`{name}(folder)`", hint, fn, str(folder)), f"{name}(folder)", "a ModelCheckpoint")
        if not isinstance(callback, keras.callbacks.ModelCheckpoint):
            raise _wrong(f"`{name}(folder)` returned {type(callback).__name__}, not a keras.callbacks.ModelCheckpoint.",
                         hint)
        target = Path(str(callback.filepath)).resolve()
        if folder.resolve() not in target.parents:
            raise _wrong(f"your checkpoint writes to {callback.filepath}, outside the folder it was given.",
                         "build the path from the argument: os.path.join(folder, 'best...').")
        filename = target.name
        if weights_only:
            if not callback.save_weights_only or not filename.endswith(".weights.h5"):
                raise _wrong(f"your checkpoint saves the whole model ({filename}).",
                             "set save_weights_only=True and end the file name in .weights.h5.")
        else:
            if callback.save_weights_only:
                raise _wrong(f"your checkpoint saves only the weights ({filename}); this lesson keeps the whole model.",
                             "leave save_weights_only=False and end the name in .keras.")
            if not filename.endswith(".keras"):
                raise _wrong(f"your checkpoint's file name {filename} does not end in .keras"
                             + (" (.h5 is Keras 2's legacy format)" if filename.endswith(".h5") else "") + ".",
                             "end the name in .keras, Keras 3's native format for whole models.")
        if callback.monitor != monitor:
            raise _wrong(f"your checkpoint monitors {callback.monitor!r}.", f"pass monitor={monitor!r}.")
        if not callback.save_best_only:
            raise _wrong("your checkpoint saves after every epoch, not only the best one.", "pass save_best_only=True.")
        model = _tiny_model()
        saved, last = _run("your checkpoint", "check the arguments of ModelCheckpoint.", _saved_epochs, callback, model,
                           _CHECKPOINT_LOGS, folder)
        values = [logs[monitor] for logs in _CHECKPOINT_LOGS]
        if saved != expected:
            raise _wrong(
                f"with {monitor} {_fmt(values, 2)} your checkpoint saved at epochs {saved or 'none'}; the best-so-far "
                f"epochs are {expected}.",
                f"{'higher' if monitor == 'val_accuracy' else 'lower'} is better for {monitor}: leave mode='auto' or "
                f"set mode={'max' if monitor == 'val_accuracy' else 'min'!r}.",
            )
        fresh = _tiny_model()
        if weights_only:
            _run("loading your checkpoint", "save with save_weights_only=True.", fresh.load_weights, str(last))
            loaded = fresh
        else:
            loaded = _run("loading your checkpoint", "save the whole model to a .keras file.", keras.saving.load_model,
                          str(last))
        if _marker(loaded) != expected[-1]:
            raise _wrong(f"your last checkpoint file holds epoch {_marker(loaded)}'s weights, not epoch "
                         f"{expected[-1]}'s.",
                         "keep one file that is replaced at each improvement, or put {epoch:02d} in its name.")
    loads = (f"load_weights puts epoch {expected[-1]}'s weights into a fresh model" if weights_only
             else f"the file loads with epoch {expected[-1]}'s weights")
    return _correct(
        f"your checkpoint saved at epochs {', '.join(map(str, expected))}, each a new best {monitor} ({other} would "
        f"have picked other epochs), and {loads}."
    )


@_exercise("01.4", "coding", "A ModelCheckpoint that keeps only the best model by val_accuracy")
def check_01_best_checkpoint(answer=...):
    """Coding: ``make_checkpoint(folder)`` returns a ``ModelCheckpoint`` that saves
    the whole model as a ``.keras`` file inside ``folder``, only when val_accuracy
    improves.

    The check runs the callback on a tiny model through 4 scripted epochs
    (val_accuracy 0.50, 0.80, 0.70, 0.90; val_loss 0.90, 0.50, 0.40, 0.45) in a
    temporary folder, and loads the last file written.

    Args:
        answer: the function ``make_checkpoint``.

    Example::

        def make_checkpoint(folder):
            ...  # your code here

        exercises.check_01_best_checkpoint(make_checkpoint)
    """
    raise _check_checkpoint(answer, "make_checkpoint", monitor="val_accuracy", weights_only=False, expected=[1, 2, 4])


# =========================================================================== lesson 02
@_exercise("02.1", "question", "The course schedule's learning rate at epoch 8")
def check_02_schedule_rate(answer=...):
    """Question: ``LearningRateScheduler(schedule)`` with lesson 02's schedule starts at
    0.01. What is the learning rate during the 8th epoch (``epoch=7`` for Keras)?

    Args:
        answer: the learning rate, a float (4 significant digits are enough).

    Example:

    >>> check_02_schedule_rate(0.01)
    ❌ Not yet: 0.01 is the rate of the first 5 epochs only.
       Hint: from the 6th epoch on (epoch=5), every epoch multiplies the rate by exp(-0.1).
    False
    """
    rate = _number(answer, "a learning rate (a float)")
    expected = 0.01 * math.exp(-0.3)
    if math.isclose(rate, expected, rel_tol=2e-3):
        raise _correct(f"epochs 1-5 keep 0.01, then epochs 6, 7 and 8 each multiply it by exp(-0.1): "
                       f"0.01 * exp(-0.3) = {_rate(expected)}.")
    if math.isclose(rate, 0.01, rel_tol=1e-6):
        raise _wrong("0.01 is the rate of the first 5 epochs only.",
                     "from the 6th epoch on (epoch=5), every epoch multiplies the rate by exp(-0.1).")
    if rate <= 0 or rate > 0.01:
        raise _wrong(f"{rate:g} cannot come from the schedule: it only keeps or lowers 0.01.",
                     "the rate is 0.01 * exp(-0.1 * k), k = the number of decays so far.")
    decays = -math.log(rate / 0.01) / 0.1
    k = round(decays)
    if abs(decays - k) < 0.02:
        why = {
            4: "that is the rate of the 9th epoch (epoch=8): the 8th epoch is Keras's epoch=7.",
            2: "that is the rate of the 7th epoch.",
            7: "you applied the decay from the 1st epoch; the schedule keeps the rate for the first 5 epochs.",
            8: "you applied the decay in every epoch; the schedule keeps the rate for the first 5 epochs.",
        }
        raise _wrong(f"{_rate(rate)} is 0.01 * exp(-0.1 * {k}), {k} decays; by the 8th epoch there have been 3.",
                     why.get(k, "decays happen at the start of epochs 6, 7 and 8 (Keras's epoch=5, 6, 7)."))
    raise _wrong(f"{_rate(rate)} is not the rate of the 8th epoch.",
                 "the rate is 0.01 for 5 epochs, then multiplied by exp(-0.1) once per epoch.")


_PLATEAU_VAL_LOSS = [0.30, 0.25, 0.26, 0.27, 0.24, 0.24]


@_exercise("02.2", "question", "ReduceLROnPlateau: the learning rate after 6 epochs")
def check_02_plateau_rate(answer=...):
    """Question: ``ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)``
    with Adam at 0.001 sees val_loss 0.30, 0.25, 0.26, 0.27, 0.24, 0.24. What is the
    learning rate after the 6th epoch?

    Args:
        answer: the learning rate, a float.

    Example::

        check_02_plateau_rate(0.000125)
    """
    rate = _number(answer, "a learning rate (a float)")
    if math.isclose(rate, 0.000125, rel_tol=1e-3):
        raise _correct("the rate halves after epochs 3 and 4 (worse than 0.25) and after epoch 6 (0.24 only ties "
                       "the best): 0.001 / 2**3 = 0.000125.")
    halvings = math.log2(0.001 / rate) if rate > 0 else float("nan")
    n = round(halvings) if math.isfinite(halvings) else None
    if n is not None and abs(halvings - n) < 0.01:
        why = {
            2: "epoch 6's 0.24 only equals the best so far: that is no improvement (it must be lower by more than "
            "min_delta=1e-4), so the rate halves again.",
            0: "with patience=1, one epoch without a new best is enough to halve the rate.",
            1: "after the rate halves, the wait counter restarts: epoch 4 is another epoch without improvement.",
            4: "epoch 5 (0.24) is a new best: no halving there.",
        }
        raise _wrong(f"{_rate(rate)} is 0.001 halved {n} time(s); it halves 3 times.",
                     why.get(n, "go epoch by epoch: a new lowest val_loss resets the wait; otherwise halve."))
    raise _wrong(f"{_rate(rate)} is not 0.001 halved a whole number of times.",
                 "ReduceLROnPlateau multiplies the rate by factor=0.5 each time it reduces it.")


def _schedule_rates(schedule, initial: float, epochs: int = 8) -> list[float]:
    """The rates a real LearningRateScheduler sets for epochs 0..epochs-1 with ``schedule``."""
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(initial), loss="sparse_categorical_crossentropy")
    scheduler = keras.callbacks.LearningRateScheduler(schedule)
    scheduler.set_model(model)
    rates = []
    for epoch in range(epochs):
        scheduler.on_epoch_begin(epoch)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return rates


@_exercise("02.3", "coding", "A schedule that halves the learning rate every 3 epochs")
def check_02_halving_schedule(answer=...):
    """Coding: ``halve_every_3(epoch, lr)`` for ``LearningRateScheduler``: keep the
    rate for epochs 0-2 (Keras counts from 0), halve it at epochs 3, 6, 9, ..., for
    any starting rate; return a float.

    The check runs a real ``LearningRateScheduler`` for 8 epochs from 0.1 and from 0.02.

    Args:
        answer: the function ``halve_every_3``.

    Example::

        def halve_every_3(epoch, lr):
            ...  # your code here

        exercises.check_02_halving_schedule(halve_every_3)
    """
    fn = _learner_function(answer, "halve_every_3")
    first = _run("`halve_every_3(0, 0.1)`", "return the rate as a float.", fn, 0, 0.1)
    if first is None:
        raise _unsolved("`halve_every_3(0, 0.1)` returned None: replace the `...` with your code and return the rate.")
    hint_float = "LearningRateScheduler needs a Python float: `return float(...)`."
    for initial in (0.1, 0.02):
        expected = [initial * 0.5 ** (epoch // 3) for epoch in range(8)]
        rates = _run("LearningRateScheduler with your schedule", hint_float, _schedule_rates, fn, initial)
        if not np.allclose(rates, expected, rtol=1e-5):
            first_bad = next(i for i, (a, b) in enumerate(zip(rates, expected, strict=True)) if not np.isclose(a, b))
            hint = (
                "use the `lr` argument (the current rate), not a fixed start value."
                if initial == 0.02
                else "epochs 0, 1, 2 keep the rate; halve it when epoch is 3, 6, 9... (epoch % 3 == 0, epoch > 0), "
                "otherwise return lr unchanged."
            )
            raise _wrong(
                f"starting at {initial}, your schedule set {_fmt([_rate(r) for r in rates])} for epochs 0-7; expected "
                f"{_fmt([_rate(r) for r in expected])}. First difference at epoch={first_bad}: "
                f"{_rate(rates[first_bad])} "
                f"instead of {_rate(expected[first_bad])}.",
                hint,
            )
    raise _correct("from 0.1 and from 0.02, a real LearningRateScheduler with your schedule kept the rate for 3 "
                   "epochs, then halved it at epochs 3 and 6.")


@_exercise("02.4", "coding", "A weights-only checkpoint of the lowest val_loss")
def check_02_weights_checkpoint(answer=...):
    """Coding: ``make_weights_checkpoint(folder)`` returns a ``ModelCheckpoint`` that
    saves only the weights (``.weights.h5``) inside ``folder``, only when val_loss
    reaches a new low.

    The check runs the callback on a tiny model through 4 scripted epochs (val_loss
    0.90, 0.50, 0.40, 0.45; val_accuracy 0.50, 0.80, 0.70, 0.90) and loads the file
    into a fresh model with ``load_weights``.

    Args:
        answer: the function ``make_weights_checkpoint``.

    Example::

        def make_weights_checkpoint(folder):
            ...  # your code here

        exercises.check_02_weights_checkpoint(make_weights_checkpoint)
    """
    raise _check_checkpoint(
        answer, "make_weights_checkpoint", monitor="val_loss", weights_only=True, expected=[1, 2, 3]
    )


# =========================================================================== lesson 03
_TRAIN_LOSS_03 = [0.53, 0.39, 0.35, 0.32, 0.30, 0.28, 0.26, 0.25]
_VAL_LOSS_03 = [0.42, 0.38, 0.36, 0.35, 0.36, 0.37, 0.39, 0.40]


@_exercise("03.1", "question", "Overfitting: which epoch is best?")
def check_03_best_epoch(answer=...):
    """Question: training loss 0.53, 0.39, 0.35, 0.32, 0.30, 0.28, 0.26, 0.25 and
    validation loss 0.42, 0.38, 0.36, 0.35, 0.36, 0.37, 0.39, 0.40 (epochs 1-8).
    Which epoch (1-based) gives the best model for new data?

    Args:
        answer: a whole number, the 1-based epoch.

    Example:

    >>> check_03_best_epoch(8)
    ❌ Not yet: epoch 8 has the lowest *training* loss (0.25), but its validation loss is 0.40.
       Hint: new data is what the validation loss measures: pick its lowest epoch.
    False
    """
    epoch = _whole(answer)
    if epoch == 4:
        raise _correct("the validation loss is lowest at epoch 4 (0.35); after that it rises while the training loss "
                       "keeps falling: the model overfits (과대적합).")
    if epoch == 8:
        raise _wrong("epoch 8 has the lowest *training* loss (0.25), but its validation loss is 0.40.",
                     "new data is what the validation loss measures: pick its lowest epoch.")
    if 1 <= epoch <= 8:
        raise _wrong(f"epoch {epoch} has validation loss {_VAL_LOSS_03[epoch - 1]:.2f}; another epoch is lower.",
                     "look for the minimum of the validation loss, not of the training loss.")
    raise _wrong(f"there is no epoch {epoch}: the run has epochs 1 to 8.")


@_exercise("03.2", "question", "What does Dropout(0.3) make of a kept 1.0 in training?")
def check_03_dropout_value(answer=...):
    """Question: ``keras.layers.Dropout(0.3)`` is called with ``training=True`` on a
    tensor of ones. What value does an output that is *kept* (not dropped) have?

    Args:
        answer: a number (3 decimals are enough).

    Example::

        check_03_dropout_value(1 / 0.7)
    """
    value = _number(answer)
    if math.isclose(value, 1 / 0.7, abs_tol=1e-3):
        raise _correct("a kept value is scaled by 1 / (1 - 0.3) = 1.4286, so the layer's output keeps the same "
                       "expected sum in training as at inference, when nothing is dropped.")
    hints = {
        0.7: "0.7 is the share of values kept; the kept values are divided by it, not multiplied.",
        1.0: "1.0 is what every value stays at inference (training=False). In training, kept values are scaled up.",
        1.3: "the scale is not 1 + r: kept values are divided by 1 - r.",
        0.0: "0 is what a *dropped* value becomes; the question asks about a kept one.",
        0.3: "0.3 is the rate, the share of values dropped.",
    }
    for key, hint in hints.items():
        if math.isclose(value, key, abs_tol=1e-3):
            raise _wrong(f"a kept value is not {value:g}.", hint)
    raise _wrong(f"a kept value is not {value:g}.", "Keras scales kept values by 1 / (1 - rate).")


def _check_dropout_model(fn) -> _Verdict:
    hint = "build it like keraslab.models.model_fn: keras.Input((28, 28)), Flatten, Dense(100, relu), Dropout(rate), " \
           "Dense(10, softmax)."
    model = _returned(_run("`model_with_dropout(0.3)`", hint, fn, 0.3), "model_with_dropout(0.3)", "the model")
    if not isinstance(model, keras.Model):
        raise _wrong(f"`model_with_dropout(0.3)` returned {type(model).__name__}, not a Keras model.", hint)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    if not dropouts:
        raise _wrong("your model has no Dropout layer.", "add keras.layers.Dropout(rate) after the hidden layer.")
    if len(dropouts) > 1:
        raise _wrong(f"your model has {len(dropouts)} Dropout layers; the task asks for one.", hint)
    if not math.isclose(float(dropouts[0].rate), 0.3):
        raise _wrong(f"model_with_dropout(0.3) has a Dropout rate of {float(dropouts[0].rate):g}.",
                     "pass the function's argument on: keras.layers.Dropout(rate).")
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    position = layers.index(dropouts[0])
    if len(dense) != 2 or not dense[0] < position < dense[1]:
        raise _wrong("the Dropout layer is not between the hidden Dense(100) layer and the output layer.",
                     "dropout switches off hidden outputs: put it right after Dense(100, relu).")
    params = model.count_params()
    if params != 79_510:
        raise _wrong(f"your model has {params:,} parameters; the course's model has 79,510 "
                     "(784 x 100 + 100 and 100 x 10 + 10).", hint)
    x = np.random.default_rng(0).random((8, 28, 28)).astype("float32")
    infer_a = keras.ops.convert_to_numpy(_run("calling your model", hint, model, x, training=False))
    infer_b = keras.ops.convert_to_numpy(model(x, training=False))
    train = keras.ops.convert_to_numpy(model(x, training=True))
    if infer_a.shape != (8, 10) or not np.allclose(infer_a.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong(f"on 8 images your model returns shape {infer_a.shape}, not 8 rows of 10 probabilities.",
                     "end with Dense(10, activation='softmax').")
    if not np.array_equal(infer_a, infer_b) or np.allclose(train, infer_a):
        raise _wrong("your model does not switch dropout on in training and off at inference.",
                     "use keras.layers.Dropout, which Keras turns off by itself at inference.")
    other = _run("`model_with_dropout(0.5)`", hint, fn, 0.5)
    rates = [float(layer.rate) for layer in getattr(other, "layers", []) if isinstance(layer, keras.layers.Dropout)]
    if rates != [0.5]:
        raise _wrong(f"model_with_dropout(0.5) has Dropout rates {rates}.", "use the `rate` argument.")
    return _correct("79,510 parameters, one Dropout layer with the rate you asked for after Dense(100); two inference "
                    "calls agree and a training call drops values.")


@_exercise("03.3", "coding", "The course model with a Dropout layer")
def check_03_dropout_model(answer=...):
    """Coding: ``model_with_dropout(rate)`` returns the course's Fashion-MNIST model
    (``keras.Input((28, 28))``, Flatten, Dense(100, relu), Dense(10, softmax)) with
    a ``Dropout(rate)`` layer after the hidden layer.

    The check builds it with 0.3 and 0.5, counts parameters and calls it on 8
    random images with ``training=False`` (twice) and ``training=True``.

    Args:
        answer: the function ``model_with_dropout``.

    Example::

        def model_with_dropout(rate):
            ...  # your code here

        exercises.check_03_dropout_model(model_with_dropout)
    """
    keras.utils.set_random_seed(0)
    raise _check_dropout_model(_learner_function(answer, "model_with_dropout"))


_VAL_LOSS_ES_03 = [0.45, 0.40, 0.38, 0.39, 0.41, 0.37]
_VAL_ACC_ES_03 = [0.80, 0.83, 0.82, 0.84, 0.86, 0.87]


def _configured_callbacks_03(fn, folder: Path) -> tuple[list, keras.callbacks.EarlyStopping]:
    """Exercise 03.4, step 1: ``fn(folder)`` returns one ModelCheckpoint and one EarlyStopping, set up as asked."""
    hint = "return [keras.callbacks.ModelCheckpoint(...), keras.callbacks.EarlyStopping(...)]."
    cbs = _returned(_run("`make_callbacks(folder)`", hint, fn, str(folder)), "make_callbacks(folder)", "a list")
    if not isinstance(cbs, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in cbs):
        raise _wrong(f"`make_callbacks(folder)` returned {type(cbs).__name__}, not a list of callbacks.", hint)
    checkpoints = [c for c in cbs if isinstance(c, keras.callbacks.ModelCheckpoint)]
    stoppers = [c for c in cbs if isinstance(c, keras.callbacks.EarlyStopping)]
    if len(checkpoints) != 1 or len(stoppers) != 1:
        raise _wrong(f"your list has {len(checkpoints)} ModelCheckpoint and {len(stoppers)} EarlyStopping "
                     "callbacks; the task asks for one of each.", hint)
    checkpoint, stopper = checkpoints[0], stoppers[0]
    if Path(str(checkpoint.filepath)).resolve() != (folder / "best-model.keras").resolve():
        raise _wrong(f"your checkpoint writes to {Path(str(checkpoint.filepath)).name!r}, not to "
                     "folder/'best-model.keras'.", "use os.path.join(folder, 'best-model.keras').")
    for name, callback in (("checkpoint", checkpoint), ("early stopping", stopper)):
        if callback.monitor != "val_loss":
            raise _wrong(f"your {name} monitors {callback.monitor!r}.", "monitor='val_loss' (its default).")
    if not checkpoint.save_best_only:
        raise _wrong("your checkpoint saves after every epoch, not only the best.", "pass save_best_only=True.")
    return list(cbs), stopper


def _check_callbacks_03_run(cbs: list, stopper, best_file: Path) -> None:
    """Exercise 03.4, step 2: on scripted epochs, stop after epoch 5, restore epoch 3, save epoch 3."""
    model = _tiny_model()
    logs = _epoch_logs(val_loss=_VAL_LOSS_ES_03, val_accuracy=_VAL_ACC_ES_03)
    epochs = _run("your callbacks", "check their arguments.", _script, cbs, model, logs)
    if epochs != 5:
        raise _wrong(
            f"with val_loss {_fmt(_VAL_LOSS_ES_03, 2)} training "
            + ("never stopped (6 of 6 epochs ran)" if epochs == 6 else f"stopped after epoch {epochs}")
            + "; with patience=2 it stops after epoch 5, 2 epochs after the best one (epoch 3).",
            f"EarlyStopping(monitor='val_loss', patience=2) (yours has patience={stopper.patience}).",
        )
    if _marker(model) != 3:
        raise _wrong(f"after training the model holds epoch {_marker(model)}'s weights, not the best epoch's (3).",
                     "pass restore_best_weights=True to EarlyStopping.")
    if not best_file.exists():
        raise _wrong("your checkpoint wrote no best-model.keras file.", "save the whole model (.keras).")
    best = keras.saving.load_model(str(best_file))
    if _marker(best) != 3:
        raise _wrong(f"best-model.keras holds epoch {_marker(best)}'s weights, not epoch 3's.",
                     "save_best_only=True with monitor='val_loss'.")


@_exercise("03.4", "coding", "A best-model checkpoint plus early stopping that restores the best weights")
def check_03_best_model_callbacks(answer=...):
    """Coding: ``make_callbacks(folder)`` returns a list of two callbacks: a
    ``ModelCheckpoint`` that keeps the best model by val_loss in
    ``folder/best-model.keras``, and an ``EarlyStopping`` on val_loss with
    ``patience=2`` that restores the best weights.

    The check runs both on a tiny model through scripted epochs (val_loss 0.45, 0.40,
    0.38, 0.39, 0.41, 0.37), then checks when training stopped, which epoch's
    weights the model holds and which epoch the file holds.

    Args:
        answer: the function ``make_callbacks``.

    Example::

        def make_callbacks(folder):
            ...  # your code here

        exercises.check_03_best_model_callbacks(make_callbacks)
    """
    fn = _learner_function(answer, "make_callbacks")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cbs, stopper = _configured_callbacks_03(fn, folder)
        _check_callbacks_03_run(cbs, stopper, folder / "best-model.keras")
    raise _correct("training stopped after epoch 5, the model was given back epoch 3's weights (the lowest val_loss, "
                   "0.38), and best-model.keras holds the same epoch.")


# =========================================================================== lesson 04
@_exercise("04.1", "question", "Count the parameters of a small model")
def check_04_param_count(answer=...):
    """Question: how many parameters does ``keras.Input(shape=(20,))`` ->
    ``Dense(32, activation="relu")`` -> ``Dense(1)`` have?

    Args:
        answer: a whole number.

    Example:

    >>> check_04_param_count(705)
    ✅ Correct: 20 x 32 + 32 = 672 for the hidden layer and 32 x 1 + 1 = 33 for the output: 705.
    True
    """
    count = _whole(answer)
    if count == 705:
        raise _correct("20 x 32 + 32 = 672 for the hidden layer and 32 x 1 + 1 = 33 for the output: 705.")
    hints = {
        672: "672 leaves out the biases: every Dense unit has one bias besides its weights.",
        704: "one bias is missing: the output unit has one too.",
        673: "the hidden layer has 32 biases, one per unit.",
        640: "640 is the hidden layer's kernel only; add its 32 biases and the output layer.",
    }
    raise _wrong(f"the model does not have {count:,} parameters.",
                 hints.get(count, "a Dense layer has inputs x units weights plus units biases; add both layers."))


_API_CHOICES = {
    "sequential": "sequential",
    "sequential model": "sequential",
    "functional": "functional",
    "functional api": "functional",
    "subclassed": "subclassed",
    "subclassing": "subclassed",
    "model subclassing": "subclassed",
    "subclass": "subclassed",
}


@_exercise("04.2", "question", "Which API hides the layer graph?")
def check_04_which_api(answer=...):
    """Question: with which of the three APIs ("sequential", "functional",
    "subclassed") is the forward pass Python code in ``call()``, so that
    ``plot_model`` shows no layer graph and ``layer.output`` cannot be inspected?

    Args:
        answer: ``"sequential"``, ``"functional"`` or ``"subclassed"``.

    Example:

    >>> check_04_which_api("subclassed")
    ✅ Correct: a subclassed model's forward pass is Python code, so Keras has no graph of layers to plot or inspect.
    True
    """
    choice = _choice(answer, _API_CHOICES)
    if choice == "subclassed":
        raise _correct("a subclassed model's forward pass is Python code, so Keras has no graph of layers to plot or "
                       "inspect.")
    raise _wrong(f"a {choice} model is an explicit graph of layers: plot_model draws it and layer.output works.",
                 "which API writes the forward pass as a method of your own class?")


def _check_two_output(fn) -> _Verdict:
    hint = ("features = keras.Input((8,)); x = Dense(16, relu)(features); two heads Dense(1, sigmoid, name='score') "
            "and Dense(3, softmax, name='category'); keras.Model(features, [score, category]).")
    model = _returned(_run("`build_two_output_model()`", hint, fn), "build_two_output_model()", "the model")
    if not isinstance(model, keras.Model):
        raise _wrong(f"`build_two_output_model()` returned {type(model).__name__}, not a Keras model.", hint)
    if isinstance(model, keras.Sequential) or not hasattr(model, "outputs"):
        raise _wrong("your model is not a functional model (a Sequential model has one output; a subclassed one no "
                     "graph).", hint)
    inputs = model.inputs
    if len(inputs) != 1 or tuple(inputs[0].shape) != (None, 8):
        raise _wrong(f"your model's inputs have shapes {[tuple(i.shape) for i in inputs]}; expected one input of shape "
                     "(None, 8).", "keras.Input(shape=(8,)).")
    names = list(model.output_names)
    if len(names) != 2:
        raise _wrong(f"your model has {len(names)} output(s); the task asks for two.", hint)
    if names != ["score", "category"]:
        raise _wrong(f"your model's outputs are named {names}.",
                     "name the output layers, in this order: Dense(1, ..., name='score'), Dense(3, ..., "
                     "name='category').")
    shapes = [tuple(o.shape) for o in model.outputs]
    if shapes != [(None, 1), (None, 3)]:
        raise _wrong(f"your outputs have shapes {shapes}; expected (None, 1) and (None, 3).", hint)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype("float32")
    targets = {"score": (x[:, 0] > 0).astype("float32")[:, None], "category": rng.integers(0, 3, 128)}
    losses = {"score": "binary_crossentropy", "category": "sparse_categorical_crossentropy"}
    model.compile(optimizer="adam", loss=losses)
    history = _run("fit() on your model", hint, model.fit, x, targets, epochs=2, batch_size=32, verbose=0)
    if not all(np.isfinite(v) for v in history.history["loss"]):
        raise _wrong("training your model gave a non-finite loss.", hint)
    score, category = (keras.ops.convert_to_numpy(p) for p in model.predict(x[:16], verbose=0))
    if not ((score >= 0) & (score <= 1)).all():
        raise _wrong("the 'score' output is not between 0 and 1.", "give it activation='sigmoid'.")
    if not np.allclose(category.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong("the 'category' output rows do not sum to 1.", "give it activation='softmax'.")
    return _correct("one input of 8 features, outputs 'score' (sigmoid) and 'category' (softmax over 3); it trained "
                    "for 2 epochs with one loss per output, given as a dict keyed by the output names.")


@_exercise("04.3", "coding", "A functional model with two outputs")
def check_04_two_output_model(answer=...):
    """Coding: ``build_two_output_model()`` returns a functional model with one input
    of 8 features, a shared ``Dense(16, relu)`` layer and two outputs, named
    ``"score"`` (``Dense(1, sigmoid)``) and ``"category"`` (``Dense(3, softmax)``).

    The check inspects the graph, then compiles the model with one loss per output
    (a dict) and trains it for 2 epochs on 128 synthetic samples.

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

    The check creates ``MyMLP()``, calls it on a batch of 3-feature inputs, counts
    its parameters (906) and trains it for one epoch.

    Args:
        answer: the class ``MyMLP``.

    Example::

        class MyMLP(keras.Model):
            ...  # your code here

        exercises.check_04_subclassed_mlp(MyMLP)
    """
    cls = _learner_class(answer, keras.Model, "MyMLP", "keras.Model")
    if "call" not in _own_functions(cls, keras.Model):
        raise _wrong("`MyMLP` does not define call(); a subclassed model's forward pass lives there.",
                     "def call(self, inputs): return self.output_layer(self.hidden(inputs)).")
    keras.utils.set_random_seed(0)
    hint = "def __init__(self, **kwargs): super().__init__(**kwargs), then create the two Dense layers."
    model = _run("`MyMLP()`", hint, cls)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(_run("calling your model on a (64, 3) batch", hint, model, x))
    if out.shape != (64, 10):
        raise _wrong(f"on a (64, 3) batch your model returns shape {out.shape}, not (64, 10).",
                     "end with Dense(10, activation='softmax').")
    if model.count_params() != 906:
        raise _wrong(f"your model has {model.count_params():,} parameters; 3 -> 64 -> 10 has 906 "
                     "(3 x 64 + 64 and 64 x 10 + 10).", "Dense(64, activation='relu'), then Dense(10).")
    if not np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        raise _wrong("the output rows do not sum to 1.", "the output layer needs activation='softmax'.")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    y = np.random.default_rng(1).integers(0, 10, 64)
    _run("fit() on your model", hint, model.fit, x, y, epochs=1, batch_size=32, verbose=0)
    raise _correct("MyMLP builds its weights on the first call (906 parameters), returns 10 probabilities per "
                   "sample and trains with fit().")


# =========================================================================== lesson 05
_BATCH_LOG_CHOICES = {"a": "a", "b": "b"}


@_exercise("05.1", "question", "What is logs['loss'] in on_train_batch_end?")
def check_05_batch_logs(answer=...):
    """Question: in Keras 3, what does ``logs["loss"]`` hold in a callback's
    ``on_train_batch_end(batch, logs)``? (a) the loss of that batch alone;
    (b) the mean loss of the epoch's batches so far.

    Args:
        answer: ``"a"`` or ``"b"``.

    Example:

    >>> check_05_batch_logs("b")
    ✅ Correct: Keras 3 reports the running mean of the epoch so far, so the last batch's value is the epoch's loss.
    True
    """
    choice = _choice(answer, _BATCH_LOG_CHOICES)
    if choice == "b":
        raise _correct("Keras 3 reports the running mean of the epoch so far, so the last batch's value is the "
                       "epoch's loss.")
    raise _wrong("that was Keras 2 (tf.keras) behaviour for batch logs.",
                 "lesson 05's LossHistory plots show a smooth, settling curve: what kind of value gives that?")


def _metric_result(metric) -> float:
    return float(keras.ops.convert_to_numpy(metric.result()))


def _check_mae_batches(metric, hint: str) -> None:
    """Exercise 05.2, step 1: two batches of different sizes weigh every value equally; reset starts over."""
    small_true, small_pred = np.zeros((2, 5), "float32"), np.ones((2, 5), "float32")
    big_true, big_pred = np.zeros((6, 5), "float32"), np.full((6, 5), 3.0, "float32")
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    _run("update_state", hint, metric.update_state, big_true, big_pred)
    value = _run("result()", hint, _metric_result, metric)
    if math.isclose(value, 2.0, rel_tol=1e-5):
        raise _wrong("after batches of 10 values (error 1) and 30 values (error 3) your result is 2.0000, the mean of "
                     "the two batch means; the mean over all 40 values is 2.5000.",
                     "weight each batch by its size: keep a sum of errors and a count of values.")
    if not math.isclose(value, 2.5, rel_tol=1e-5):
        raise _wrong(f"after batches of 10 values (error 1) and 30 values (error 3) your result is {value:.4f}, "
                     "not 2.5000.", hint)
    _run("reset_state()", hint, metric.reset_state)
    _run("update_state", hint, metric.update_state, small_true, small_pred)
    after = _run("result()", hint, _metric_result, metric)
    if not math.isclose(after, 1.0, rel_tol=1e-5):
        raise _wrong(f"after reset_state() and one batch with error 1, your result is {after:.4f}, not 1.0000.",
                     "reset_state() must set the sum and the count back to 0 (assign(0.0)).")


def _check_mae_in_evaluate(cls, hint: str) -> None:
    """Exercise 05.2, step 2: ``evaluate()`` with the metric reports the MAE NumPy computes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + 0.1).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[cls()])
    results = _run("evaluate() with your metric", hint, model.evaluate, x, y, batch_size=40, verbose=0,
                   return_dict=True)
    expected = float(np.mean(np.abs(y - keras.ops.convert_to_numpy(model.predict(x, verbose=0)))))
    if "mae" not in results or not math.isclose(float(results["mae"]), expected, rel_tol=1e-4):
        raise _wrong(f"evaluate() reported mae={results.get('mae')!r}, NumPy says {expected:.4f} (batches of 40, 40 "
                     "and 16 samples).", hint)


@_exercise("05.2", "coding", "A custom metric: mean absolute error")
def check_05_mae_metric(answer=...):
    """Coding: ``class MAEMetric(keras.metrics.Metric)`` with default name ``"mae"``:
    ``update_state(y_true, y_pred, sample_weight=None)`` adds up absolute errors and
    counts values, ``result()`` returns their mean over *all* batches so far, and
    ``reset_state()`` starts over.

    The check feeds two batches of different sizes, compares with NumPy, resets,
    then uses the metric in ``compile`` and ``evaluate``.

    Args:
        answer: the class ``MAEMetric``.

    Example::

        class MAEMetric(keras.metrics.Metric):
            ...  # your code here

        exercises.check_05_mae_metric(MAEMetric)
    """
    cls = _learner_class(answer, keras.metrics.Metric, "MAEMetric", "keras.metrics.Metric")
    hint = ("in __init__, add_weight a running sum and a count (initializer='zeros'); update_state adds "
            "sum(|y_true - y_pred|) and the number of values; result() divides.")
    metric = _run("`MAEMetric()`", "def __init__(self, name='mae', **kwargs): super().__init__(name=name, **kwargs).",
                  cls)
    if metric.name != "mae":
        raise _wrong(f"MAEMetric() is named {metric.name!r}.", "give __init__ a default: name='mae'.")
    _check_mae_batches(metric, hint)
    _check_mae_in_evaluate(cls, hint)
    raise _correct("your metric weights every value equally across batches (2.5000), resets to a fresh start, and "
                   "evaluate() reports the same MAE as NumPy.")


@_exercise("05.3", "coding", "A callback that records epoch losses and batch counts")
def check_05_epoch_recorder(answer=...):
    """Coding: ``class EpochRecorder(keras.callbacks.Callback)`` that keeps, in
    ``self.epoch_losses``, the loss of every epoch (``logs["loss"]`` at the epoch's
    end) and, in ``self.batches``, how many training batches each epoch ran.

    The check trains a tiny model for 3 epochs on 96 samples in batches of 32
    (with validation data) and compares with ``history.history["loss"]`` and [3, 3, 3].

    Args:
        answer: the class ``EpochRecorder``.

    Example::

        class EpochRecorder(keras.callbacks.Callback):
            ...  # your code here

        exercises.check_05_epoch_recorder(EpochRecorder)
    """
    cls = _learner_class(answer, keras.callbacks.Callback, "EpochRecorder", "keras.callbacks.Callback")
    hint = ("start the lists in on_train_begin; count in on_epoch_begin/on_train_batch_end; append logs['loss'] "
            "in on_epoch_end.")
    recorder = _run("`EpochRecorder()`", "call super().__init__() in your __init__.", cls)
    keras.utils.set_random_seed(0)
    x, y = _classification_data(128)
    model = _tiny_model()
    history = _run("fit() with your callback", hint, model.fit, x[:96], y[:96], validation_data=(x[96:], y[96:]),
                   epochs=3, batch_size=32, verbose=0, callbacks=[recorder])
    for name in ("epoch_losses", "batches"):
        if not hasattr(recorder, name):
            raise _wrong(f"your callback has no attribute `{name}` after training.", hint)
    losses, batches = list(recorder.epoch_losses), list(recorder.batches)
    if len(losses) != 3 or not np.allclose([float(v) for v in losses], history.history["loss"], rtol=1e-6):
        raise _wrong(f"epoch_losses is {_fmt([float(v) for v in losses])}, but fit() logged "
                     f"{_fmt(history.history['loss'])}.", "append float(logs['loss']) once per epoch, in on_epoch_end.")
    if [int(b) for b in batches] != [3, 3, 3]:
        why = ("the count must restart every epoch (on_epoch_begin)." if [int(b) for b in batches] == [3, 6, 9]
               else "count only training batches (on_train_batch_end), not validation ones.")
        raise _wrong(f"batches is {batches}; 96 samples in batches of 32 make 3 batches per epoch.", why)
    raise _correct("your callback recorded the 3 epoch losses exactly as History did, and 3 training batches per "
                   "epoch.")


def _check_train_step(cls) -> _Verdict:
    hint_init = ("don't override __init__, or write "
                 "`def __init__(self, *args, **kwargs): super().__init__(*args, **kwargs)`.")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32") + 0.5).astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = _run("`MAEModel(inputs, outputs)`", hint_init, cls, inputs, keras.layers.Dense(1)(inputs))
    hint = ("in train_step: forward pass under tf.GradientTape, loss = self.compute_loss(x=..., y=..., y_pred=...), "
            "apply_gradients, update every metric in self.metrics, and also an MAE tracker (e.g. "
            "keras.metrics.MeanAbsoluteError(name='mae') created in __init__).")
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    history = _run("fit() with your train_step", hint, model.fit, x, y, epochs=2, batch_size=32, shuffle=False,
                   verbose=0)
    logged = sorted(history.history)
    if "mae" not in history.history:
        raise _wrong(f"fit() logged {logged}, no 'mae'.", hint)
    if "loss" not in history.history:
        raise _wrong(f"fit() logged {logged}, no 'loss'.", "return the loss tracker's result under 'loss' too.")
    predictions = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    mae, mse = float(np.mean(np.abs(y - predictions))), float(np.mean((y - predictions) ** 2))
    got_mae, got_loss = history.history["mae"][-1], history.history["loss"][-1]
    if not math.isclose(got_mae, mae, rel_tol=1e-4):
        raise _wrong(f"with a learning rate of 0 (the weights never change) your 'mae' was {got_mae:.4f}; the mean "
                     f"absolute error of the model is {mae:.4f}.",
                     "update an MAE metric with (targets, predictions) on every batch and return its result(); "
                     "list it in `metrics` so fit() resets it every epoch.")
    if not math.isclose(got_loss, mse, rel_tol=1e-4):
        raise _wrong(f"with a learning rate of 0 your 'loss' was {got_loss:.4f}, but the mean squared error over the "
                     f"epoch is {mse:.4f}.", "feed the loss to the loss tracker (the metric named 'loss' in "
                     "self.metrics) and return its result(), not the last batch's loss.")
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = _run("fit() with your train_step", hint, model.fit, x, y, epochs=3, batch_size=32, shuffle=False,
                   verbose=0)
    if all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True)):
        raise _wrong("after 3 epochs at a learning rate of 0.05 the weights have not changed.",
                     "compute the gradients with tape.gradient and call "
                     "self.optimizer.apply_gradients(zip(gradients, self.trainable_weights)).")
    if not history.history["loss"][-1] < history.history["loss"][0]:
        raise _wrong("the loss did not go down in 3 epochs of training.", hint)
    return _correct("fit() with your train_step logs 'loss' and 'mae' that match NumPy exactly (at a learning rate "
                    "of 0), and it trains: the loss went down in 3 epochs.")


@_exercise("05.4", "coding", "A train_step that also tracks MAE")
def check_05_train_step_mae(answer=...):
    """Coding: ``class MAEModel(keras.Model)`` overriding ``train_step`` (with
    ``tf.GradientTape``, ``self.compute_loss`` and ``self.metrics``) so that ``fit()``
    also reports ``"mae"``, the mean absolute error of the epoch.

    The check builds ``MAEModel(inputs, outputs)`` for a 4 -> 1 regression, trains it
    with a learning rate of 0 (fixed weights: 'loss' and 'mae' must match NumPy
    exactly), then at 0.05 (the weights must change, the loss go down).
    TensorFlow backend only.

    Args:
        answer: the class ``MAEModel``.

    Example::

        class MAEModel(keras.Model):
            ...  # your code here

        exercises.check_05_train_step_mae(MAEModel)
    """
    cls = _learner_class(answer, keras.Model, "MAEModel", "keras.Model")
    _backend_is_tensorflow("this exercise (tf.GradientTape)")
    if "train_step" not in _own_functions(cls, keras.Model):
        raise _wrong("`MAEModel` does not override train_step.", "def train_step(self, data): ...")
    raise _check_train_step(cls)


# =========================================================================== lesson 06
@_exercise("06.1", "question", "BackupAndRestore: where does the rerun start?")
def check_06_resume_epoch(answer=...):
    """Question: ``fit(..., epochs=10, callbacks=[keras.callbacks.BackupAndRestore(...)])``
    is killed in the middle of epoch 7 (epoch 6 finished and was backed up). You run
    the same code again. Which epoch (1-based) is the first that the rerun trains?

    Args:
        answer: a whole number.

    Example:

    >>> check_06_resume_epoch(1)
    ❌ Not yet: the rerun does not start over at epoch 1.
       Hint: BackupAndRestore finds its backup of epoch 6 and restores the weights, the optimizer and the epoch counter.
    False
    """
    epoch = _whole(answer)
    if epoch == 7:
        raise _correct("the backup holds epoch 6, so fit() continues with epoch 7; the half-done epoch 7 is trained "
                       "again from its start.")
    hints = {
        1: "BackupAndRestore finds its backup of epoch 6 and restores the weights, the optimizer and the epoch "
        "counter.",
        6: "epoch 6 finished and its backup was written: it is not trained again.",
        8: "epoch 7 was interrupted: its work is lost, so it is trained again.",
    }
    raise _wrong(f"the rerun does not start {'over ' if epoch == 1 else ''}at epoch {epoch}.",
                 hints.get(epoch, "resuming happens at epoch boundaries: after the last epoch that was backed up."))


_YES_NO = {"true": True, "yes": True, "y": True, "false": False, "no": False, "n": False}


@_exercise("06.2", "question", "TerminateOnNaN() and a checkpoint that saves every epoch")
def check_06_nan_checkpoint(answer=...):
    """Question: ``fit`` runs with ``TerminateOnNaN()`` (``raise_error=False``, the
    default) and ``ModelCheckpoint("last.weights.h5", save_weights_only=True,
    save_best_only=False)``. The loss becomes NaN in epoch 3. After ``fit``, does
    ``last.weights.h5`` hold NaN weights? Answer True or False.

    Args:
        answer: ``True`` or ``False``.

    Example:

    >>> check_06_nan_checkpoint("maybe")
    ❌ Not yet: your answer is 'maybe'.
       Hint: answer True or False.
    False
    """
    if answer is ...:
        raise _unsolved()
    value = answer if isinstance(answer, (bool, np.bool_)) else _YES_NO.get(str(answer).strip().lower())
    if value is None:
        raise _wrong(f"your answer is {answer!r}.", "answer True or False.")
    if bool(value):
        raise _correct("TerminateOnNaN() only asks training to stop; epoch 3 still ends normally, and the checkpoint "
                       "saves its NaN weights over the last good ones.")
    raise _wrong("the file does hold NaN weights.",
                 "TerminateOnNaN() (raise_error=False) only sets model.stop_training: the epoch-end callbacks still "
                 "run. TerminateOnNaN(raise_error=True), as in resume.resumable_callbacks, stops before they can.")


class _SaveFails(keras.layers.Layer):
    """An identity layer whose saving fails while ``fail`` is set: a full disk mid-save."""

    fail = False

    def call(self, inputs):
        return inputs

    def save_own_variables(self, store):
        if _SaveFails.fail:
            raise OSError("No space left on device (simulated)")


def _save_fails_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), _SaveFails()])


def _load_saved(path: Path) -> keras.Model:
    return keras.saving.load_model(str(path), custom_objects={"_SaveFails": _SaveFails})


def _check_atomic(fn) -> _Verdict:
    hint = ("save to a temporary file in the same folder whose name ends in .keras (e.g. path + '.tmp.keras'), "
            "then os.replace(tmp, path); remove the temporary file if the save fails.")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        first = _save_fails_model(0)
        _SaveFails.fail = False
        _run("`atomic_save(model, path)`", hint, fn, first, str(path))
        if not path.exists():
            raise _wrong("after `atomic_save(model, path)` there is no file at path.", hint)
        loaded = _run("loading the file you saved", hint, _load_saved, path)
        if not np.allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(first(x)), atol=1e-6):
            raise _wrong("the saved model does not predict what the model predicts.", hint)
        good = path.read_bytes()
        second = _save_fails_model(1)
        _SaveFails.fail = True
        try:
            fn(second, str(path))
        except Exception:
            pass  # the failed save may propagate its error: that is fine
        finally:
            _SaveFails.fail = False
        others = sorted(p.name for p in Path(tmp).iterdir() if p.name != "model.keras")
        if not path.exists():
            raise _wrong("a save that failed half-way removed the previous file.", hint)
        if path.read_bytes() != good:
            size = path.stat().st_size
            raise _wrong(f"a save that failed half-way overwrote the previous file (it is now {size:,} bytes, was "
                         f"{len(good):,}) and it no longer holds the good model.", hint)
        if others:
            raise _wrong(f"a failed save left a temporary file behind: {', '.join(others)}.",
                         "delete the temporary file when the save fails (try/except or finally), then re-raise.")
        _run("`atomic_save(model, path)`", hint, fn, second, str(path))
        reloaded = _run("loading the file you saved", hint, _load_saved, path)
        if not np.allclose(keras.ops.convert_to_numpy(reloaded(x)), keras.ops.convert_to_numpy(second(x)), atol=1e-6):
            raise _wrong("a later successful save did not replace the file.", "os.replace(tmp, path) overwrites path.")
        leftovers = sorted(p.name for p in Path(tmp).iterdir() if p.name != "model.keras")
        if leftovers:
            raise _wrong(f"a successful save left extra files behind: {', '.join(leftovers)}.", hint)
    return _correct("a save that failed half-way left the previous model.keras intact and no temporary file; a "
                    "successful save replaced it.")


@_exercise("06.3", "coding", "An atomic save")
def check_06_atomic_save(answer=...):
    """Coding: ``atomic_save(model, path)`` saves ``model`` to the ``.keras`` file
    ``path`` so that a save that fails half-way never damages the previous file:
    write a temporary file in the same folder, then ``os.replace`` it over ``path``.

    The check saves a tiny model, then makes the next save fail half-way (a layer
    whose saving raises ``OSError``, like a full disk), and checks the previous file
    is unchanged and no temporary file is left.

    Args:
        answer: the function ``atomic_save``.

    Example::

        def atomic_save(model, path):
            ...  # your code here

        exercises.check_06_atomic_save(atomic_save)
    """
    fn = _learner_function(answer, "atomic_save")
    raise _check_atomic(fn)


class _SimulatedKill(Exception):
    """Stands in for SIGKILL in the middle of an epoch."""


def _killable_model(counter: dict, crash_at_step: int | None) -> keras.Model:
    """A built, compiled demo model whose ``crash_at_step``-th training step raises ``_SimulatedKill``."""

    class KillableModel(keras.Sequential):
        def train_step(self, *args):  # (data) on TensorFlow and torch, (state, data) on JAX
            counter["steps"] += 1
            if crash_at_step is not None and counter["steps"] == crash_at_step:
                raise _SimulatedKill(f"killed during training step {crash_at_step}")
            return super().train_step(*args)

    keras.utils.set_random_seed(0)
    model = KillableModel([keras.Input((20,)), keras.layers.Dense(16, activation="relu"),
                           keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)  # train_step runs in Python, so the counter counts real steps
    model.optimizer.build(model.trainable_variables)
    return model


def _check_resumable(fn) -> _Verdict:
    from keraslab.paths import Run

    hint = ("model.fit(x, y, epochs=6, batch_size=32, validation_split=0.2, shuffle=False, verbose=0, "
            "callbacks=resume.resumable_callbacks(run)).")
    x, y = _classification_data(200, features=20)
    with tempfile.TemporaryDirectory() as tmp:

        def make_run(name):
            run = Run("exercises", name, Path(tmp) / "logs" / name, Path(tmp) / "checkpoints" / name)
            run.log_dir.mkdir(parents=True, exist_ok=True)
            run.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            return run

        reference_steps = {"steps": 0}
        reference = _killable_model(reference_steps, None)
        _run("`fit_resumably(model, x, y, run)`", hint, fn, reference, x, y, make_run("reference"))
        steps_per_epoch = 5  # 160 training samples in batches of 32
        if reference_steps["steps"] != 6 * steps_per_epoch:
            raise _wrong(f"an uninterrupted call ran {reference_steps['steps']} training steps, not 6 epochs of "
                         f"{steps_per_epoch} (200 samples, validation_split=0.2, batch_size=32).", hint)
        run = make_run("interrupted")
        first_steps = {"steps": 0}
        crash_at = 3 * steps_per_epoch + 3  # the 3rd batch of epoch 4
        try:
            fn(_killable_model(first_steps, crash_at), x, y, run)
        except _SimulatedKill:
            pass
        except Exception as exc:
            raise _wrong(f"`fit_resumably` raised {_describe(exc)} before the simulated kill.", hint) from None
        if first_steps["steps"] < crash_at:
            raise _wrong("the first attempt was not interrupted as planned.", hint)
        second_steps = {"steps": 0}
        resumed = _killable_model(second_steps, None)
        _run("the second `fit_resumably(...)` call", hint, fn, resumed, x, y, run)
        done = second_steps["steps"] // steps_per_epoch
        if second_steps["steps"] == 6 * steps_per_epoch:
            raise _wrong("the second call, after a kill during epoch 4, trained all 6 epochs again from epoch 1.",
                         "use resume.resumable_callbacks(run) with the run you are given, so the backup of epoch 3 is "
                         "found and restored.")
        if second_steps["steps"] != 3 * steps_per_epoch:
            raise _wrong(f"after a kill during epoch 4 the second call trained {done} epochs; it should train the 3 "
                         "unfinished ones (4, 5 and 6).", hint)
        same = all(np.allclose(a, b, rtol=1e-5, atol=1e-6)
                   for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True))
        if not same:
            raise _wrong("the resumed run ended with other weights than an uninterrupted run.",
                         "train both calls the same way (6 epochs, batch_size=32, validation_split=0.2, "
                         "shuffle=False) and let resumable_callbacks(run) restore the backup.")
    return _correct("killed during epoch 4, the rerun trained only epochs 4-6, resumed from the backup of epoch 3, "
                    "and ended with the same weights as a run that was never interrupted.")


@_exercise("06.4", "coding", "A resumable run that survives a kill")
def check_06_resumable_run(answer=...):
    """Coding: ``fit_resumably(model, x, y, run)`` trains ``model`` for 6 epochs
    (``batch_size=32``, ``validation_split=0.2``, ``shuffle=False``) so that calling it
    again after an interruption continues with the first unfinished epoch: use
    ``keraslab.resume.resumable_callbacks(run)``.

    The check runs it once uninterrupted (a reference), once killed (an exception)
    during epoch 4, then once more with a fresh model and the same run folders; the
    rerun must train only epochs 4-6 and end with the reference's weights. All
    files go to a temporary folder.

    Args:
        answer: the function ``fit_resumably``.

    Example::

        def fit_resumably(model, x, y, run):
            ...  # your code here

        exercises.check_06_resumable_run(fit_resumably)
    """
    fn = _learner_function(answer, "fit_resumably")
    raise _check_resumable(fn)


# =========================================================================== lesson 07
@_exercise("07.1", "question", "The global batch size")
def check_07_global_batch(answer=...):
    """Question: you train with ``MirroredStrategy`` on a machine with 4 GPUs and want
    64 samples per replica. What ``batch_size`` do you pass to ``fit()``?

    Args:
        answer: a whole number.

    Example:

    >>> check_07_global_batch(64)
    ❌ Not yet: 64 is the batch of one replica.
       Hint: fit() takes the global batch and splits it between the 4 replicas.
    False
    """
    size = _whole(answer)
    if size == 256:
        raise _correct("64 samples on each of 4 replicas make a global batch of 256 samples.")
    hints = {
        64: ("64 is the batch of one replica.", "fit() takes the global batch and splits it between the 4 replicas."),
        16: ("16 would give each replica 4 samples.", "multiply, don't divide: global = per replica x replicas."),
    }
    message, hint = hints.get(size, (f"{size} is not the global batch size.",
                                     "distribute.global_batch_size(per_replica, strategy) = per replica x replicas."))
    raise _wrong(message, hint)


@_exercise("07.2", "question", "A per-replica mean loss: how much too large is the update?")
def check_07_loss_factor(answer=...):
    """Question: in a custom loop under ``MirroredStrategy`` with 2 replicas, each
    replica takes ``tf.reduce_mean`` of its per-example losses, and the replicas'
    gradients are summed. How many times too large is each update?

    Args:
        answer: a number.

    Example:

    >>> check_07_loss_factor(0.5)
    ❌ Not yet: the update is too large, not too small.
       Hint: summing adds the two replicas' means.
    False
    """
    factor = _number(answer)
    if math.isclose(factor, 2.0):
        raise _correct("each replica's mean is already a mean over its half of the batch; summing two of them doubles "
                       "the loss, the gradients and the update.")
    if math.isclose(factor, 1.0):
        raise _wrong("the update is not right as it is.", "the sum of two per-replica means is twice the mean over "
                     "the global batch.")
    if math.isclose(factor, 0.5):
        raise _wrong("the update is too large, not too small.", "summing adds the two replicas' means.")
    raise _wrong(f"the update is not {factor:g} times too large.",
                 "compare the sum of the replicas' means with the mean over the whole global batch.")


def _lesson_strategy():
    """A MirroredStrategy over the logical CPUs (lesson 07 makes two) or the default devices."""
    import tensorflow as tf

    cpus = tf.config.list_logical_devices("CPU")
    gpus = tf.config.list_logical_devices("GPU")
    if len(cpus) > 1 and not gpus:
        return tf.distribute.MirroredStrategy([d.name for d in cpus])
    return tf.distribute.MirroredStrategy()


def _check_in_scope(fn) -> _Verdict:
    from keraslab import distribute

    strategy = _lesson_strategy()
    hint = "with strategy.scope(): model = get_mnist_model(); model.compile(...); then return model."
    keras.utils.set_random_seed(0)
    model = _returned(_run("`make_model(strategy)`", hint, fn, strategy), "make_model(strategy)", "the compiled model")
    if not isinstance(model, keras.Model):
        raise _wrong(f"`make_model(strategy)` returned {type(model).__name__}, not a Keras model.", hint)
    if not model.built or not model.weights:
        raise _wrong("your model has no weights yet.", "start it with keras.Input(shape=(784,)), as get_mnist_model() "
                     "does, so its weights are created in the scope.")
    outside = [w.path for w in model.weights if not strategy.extended.variable_created_in_scope(w.value)]
    if outside:
        raise _wrong(f"{len(outside)} of the model's {len(model.weights)} weights were created outside "
                     "strategy.scope().", "create (and compile) the model inside `with strategy.scope():`.")
    if not model.compiled:
        raise _wrong("your model is not compiled.",
                     "compile it inside the scope, so the optimizer's state is mirrored.")
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64)
    history = _run("fit() under the strategy", hint, model.fit, x, y, epochs=1,
                   batch_size=distribute.global_batch_size(16, strategy), verbose=0)
    if not np.isfinite(history.history["loss"][0]):
        raise _wrong("training gave a non-finite loss.", hint)
    return _correct("every weight of your model is a mirrored variable created under strategy.scope(), it is "
                    "compiled, and fit() trained it with a global batch of 16 per replica.")


@_exercise("07.3", "coding", "Create and compile a model under strategy.scope()")
def check_07_model_in_scope(answer=...):
    """Coding: ``make_model(strategy)`` creates and compiles a classifier of
    784-value inputs into 10 classes (e.g. ``keraslab.models.get_mnist_model()``)
    under ``strategy.scope()`` and returns it.

    The check passes a ``MirroredStrategy`` (over lesson 07's two logical CPUs when
    they exist), checks every weight was created in its scope, and trains one epoch
    on 64 random samples. TensorFlow backend only.

    Args:
        answer: the function ``make_model``.

    Example::

        def make_model(strategy):
            ...  # your code here

        exercises.check_07_model_in_scope(make_model)
    """
    fn = _learner_function(answer, "make_model")
    _backend_is_tensorflow("this exercise (tf.distribute)")
    raise _check_in_scope(fn)


def _check_average_loss(fn) -> _Verdict:
    import tensorflow as tf

    hint = "divide the sum of the replica's losses by the GLOBAL batch size: tf.nn.compute_average_loss(losses, " \
           "global_batch_size=global_batch_size)."
    share = tf.constant([1.0, 2.0, 3.0, 4.0])
    value = _run("`average_loss(losses, 8)`", hint, fn, share, 8)
    if value is None:
        raise _unsolved("`average_loss(...)` returned None: replace the `...` with your code and return the loss.")
    got = float(keras.ops.convert_to_numpy(value))
    if math.isclose(got, 2.5, rel_tol=1e-6):
        raise _wrong("for this replica's losses 1, 2, 3, 4 and a global batch of 8 you returned 2.5, the mean of the "
                     "replica's own 4 losses; its share of the global mean is (1+2+3+4) / 8 = 1.25.", hint)
    if not math.isclose(got, 1.25, rel_tol=1e-6):
        raise _wrong(f"for this replica's losses 1, 2, 3, 4 and a global batch of 8 you returned {got:g}, not 1.25.",
                     hint)
    strategy = _lesson_strategy()
    replicas = strategy.num_replicas_in_sync
    losses = np.arange(1, 6 * replicas + 1, dtype="float32")  # a global batch other than 8
    dataset = tf.data.Dataset.from_tensor_slices(losses).batch(len(losses))
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))

    @tf.function
    def summed(per_replica):
        value = strategy.run(lambda shard: fn(shard, len(losses)), args=(per_replica,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    total = float(_run("`average_loss` inside strategy.run", hint, summed, batch))
    if not math.isclose(total, float(losses.mean()), rel_tol=1e-5):
        raise _wrong(f"inside strategy.run, the replicas' losses summed to {total:g}, not to the global mean "
                     f"{float(losses.mean()):g}.", hint)
    return _correct("each replica contributes sum / global batch size, so the summed replicas give the mean over the "
                    "global batch, under strategy.run too.")


@_exercise("07.4", "coding", "A replica's share of the loss")
def check_07_average_loss(answer=...):
    """Coding: ``average_loss(per_example_losses, global_batch_size)`` returns one
    replica's share of the mean loss over the *global* batch: the sum of its
    per-example losses divided by ``global_batch_size``.

    The check calls it on 4 losses with a global batch of 8, then inside
    ``strategy.run`` under a ``MirroredStrategy`` and sums the replicas. TensorFlow
    backend only.

    Args:
        answer: the function ``average_loss``.

    Example::

        def average_loss(per_example_losses, global_batch_size):
            ...  # your code here

        exercises.check_07_average_loss(average_loss)
    """
    fn = _learner_function(answer, "average_loss")
    _backend_is_tensorflow("this exercise (tf.distribute)")
    raise _check_average_loss(fn)

