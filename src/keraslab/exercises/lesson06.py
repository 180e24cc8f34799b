"""Checkers of lesson 06's exercises (reliable training); see :mod:`keraslab.exercises`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from keraslab.exercises._core import (
    _classification_data,
    _correct,
    _describe,
    _exercise,
    _learner_function,
    _run,
    _unsolved,
    _Verdict,
    _whole,
    _wrong,
)

__all__ = ["check_06_resume_epoch", "check_06_nan_checkpoint", "check_06_atomic_save", "check_06_resumable_run"]


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
