"""Checkers of lesson 01's exercises (iris checkpoints); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import keras

from keraslab.exercises._core import (
    _classification_data,
    _correct,
    _epoch_logs,
    _exercise,
    _fmt,
    _learner_class,
    _learner_function,
    _marker,
    _returned,
    _run,
    _script,
    _tiny_model,
    _unsolved,
    _Verdict,
    _whole,
    _wrong,
)

__all__ = ["check_01_stop_epoch", "check_01_checkpoint_files", "check_01_stop_at_accuracy", "check_01_best_checkpoint"]


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
