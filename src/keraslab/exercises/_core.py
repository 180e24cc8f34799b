"""The exercise framework: check the learner's answers to the exercises (확인 문제) at the end of every lesson.

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
import inspect
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from keraslab.i18n import translator

__all__ = [
    "EXERCISES",
    "Exercise",
    "check",
    "list_exercises",
]

CORRECT, WRONG, UNSOLVED = "correct", "wrong", "unsolved"
_ = translator("keraslab")


# --------------------------------------------------------------------------- feedback
class _Verdict(Exception):
    """The outcome of a check; raised anywhere inside a checker to end it."""

    def __init__(self, status: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint

    def show(self) -> bool | None:
        if self.status == CORRECT:
            print(_("✅ Correct: {message}").format(message=self.message))
            return True
        if self.status == UNSOLVED:
            print(_("⏳ Not solved yet: {message}").format(message=self.message))
            return None
        hint = "\n   " + _("Hint: {hint}").format(hint=self.hint) if self.hint else ""
        print(_("❌ Not yet: {message}").format(message=self.message) + hint)
        return False


def _correct(message: str) -> _Verdict:
    return _Verdict(CORRECT, message)


def _wrong(message: str, hint: str | None = None) -> _Verdict:
    """Raise this: the answer is wrong; say what is wrong and give a hint."""
    return _Verdict(WRONG, message, hint)


def _unsolved(message: str | None = None) -> _Verdict:
    return _Verdict(UNSOLVED, message or _("replace the `...` with your answer."))


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
        raise _wrong(_("{what} raised {error}").format(what=what, error=_describe(exc)), hint) from None


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
                    _("checking your answer raised {error}").format(error=_describe(exc)),
                    _("compare your answer with what the task asks for (its type, names and arguments)."),
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
        _wrong(_("there is no exercise {exercise!r}.").format(exercise=exercise),
               _("use one of {ids}.").format(ids=", ".join(EXERCISES))).show()
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
def _number(answer, unit: str | None = None):
    """The answer as a float, or feedback that it is not a number (``unit``, translated, e.g. "a number")."""
    unit = unit or _("a number")
    not_unit = _("your answer is {answer!r}, not {unit}.").format(answer=answer, unit=unit)
    write_unit = _("write {unit}, e.g. `answer = 3`.").format(unit=unit)
    if answer is ...:
        raise _unsolved()
    if isinstance(answer, bool) or answer is None:
        raise _wrong(not_unit, write_unit)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise _wrong(not_unit, write_unit) from None
    if not math.isfinite(value):
        raise _wrong(_("your answer is {value}, not a finite number.").format(value=value))
    return value


def _whole(answer) -> int:
    value = _number(answer, _("a whole number"))
    if value != int(value):
        raise _wrong(_("your answer {value:g} is not a whole number.").format(value=value),
                     _("answer with a whole number, e.g. 5."))
    return int(value)


def _choice(answer, options: dict[str, str]) -> str:
    """The chosen option's key; ``options`` maps accepted spellings to keys."""
    if answer is ...:
        raise _unsolved()
    text = str(answer).strip().strip("()").lower() if isinstance(answer, str) else None
    if text is None or text not in options:
        keys = sorted(set(options.values()))
        raise _wrong(_("your answer is {answer!r}.").format(answer=answer),
                     _("answer with one of: {keys}.").format(keys=", ".join(repr(k) for k in keys)))
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
        raise _unsolved(_("replace the `...` in `{name}` with your code.").format(name=name))
    if not inspect.isclass(answer):
        raise _wrong(_("`{name}` should be a class, but it is {type}.").format(name=name, type=type(answer).__name__),
                     _("write `class {name}({base}):`.").format(name=name, base=base_name))
    if not issubclass(answer, base):
        raise _wrong(_("`{name}` does not subclass {base}.").format(name=name, base=base_name),
                     _("write `class {name}({base}):`.").format(name=name, base=base_name))
    methods = _own_functions(answer, base)
    if not methods or all(_is_stub_function(f) for f in methods.values()):
        raise _unsolved(_("replace the `...` in `{name}` with your code.").format(name=name))
    return answer


def _learner_function(answer, name: str) -> Callable:
    if answer is ...:
        raise _unsolved(_("replace the `...` in `{name}` with your code.").format(name=name))
    if not callable(answer) or inspect.isclass(answer):
        kind = type(answer).__name__
        raise _wrong(_("`{name}` should be a function, but it is {type}.").format(name=name, type=kind),
                     _("write `def {name}(...):`.").format(name=name))
    if _is_stub_function(answer):
        raise _unsolved(_("replace the `...` in `{name}` with your code.").format(name=name))
    return answer


def _returned(value, call: str, what: str):
    """A factory's result; ``None`` means the learner has not written the ``return`` yet."""
    if value is None:
        raise _unsolved(_("`{call}` returned None: replace the `...` with your code and return {what}.").format(
            call=call, what=what))
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
        raise _unsolved(_("{what} needs the TensorFlow backend (KERAS_BACKEND=tensorflow); this kernel runs "
                          "{backend}.").format(what=what, backend=keras.backend.backend()))
