"""Write hyperparameters (하이퍼파라미터) for TensorBoard's HParams dashboard: the experiment record and each run's.

TensorBoard's HParams plugin compares runs by the hyperparameters they were trained
with. It needs two kinds of records:

* one **experiment** record in the lesson's log folder (``logs/<notebook>/``): the
  hyperparameters and their possible values, and the metrics to show for each run;
* one **session** record per run (``logs/<notebook>/<run>/``): that run's values,
  written by :class:`HParamsCallback` when ``fit()`` starts.

The metrics themselves are the ``epoch_*`` scalars the ``TensorBoard`` callback
already writes into ``<run>/train`` and ``<run>/validation``. The records are read back
by :func:`keraslab.logreaders.read_hparams_experiment` and
:func:`keraslab.logreaders.read_hparams_session`.

Example::

    import keras
    from keraslab import hparams, paths
    experiment = hparams.experiment(
        paths.logs_dir() / "03_fashion",
        {"optimizer": ["rmsprop", "adam"], "dropout": [0.0, 0.3]},
        metrics={"validation/epoch_accuracy": "val accuracy"},
    )
    run = paths.new_run("03_fashion", "adam-dropout-0.3")
    model.fit(x, y, validation_split=0.2, callbacks=[
        keras.callbacks.TensorBoard(log_dir=run.log_dir),
        experiment.callback(run, {"optimizer": "adam", "dropout": 0.3}),
    ])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from keraslab.paths import Run

__all__ = ["Experiment", "HParamsCallback", "experiment"]

Value = str | int | float | bool


class HParamsCallback(hp.KerasCallback):
    """TensorBoard's ``hp.KerasCallback`` that also closes its file writer.

    ``hp.KerasCallback`` writes the session record when training starts and the
    "finished" record when it ends, but leaves its writer open, so the last record
    may sit in a buffer until the Python process exits. Closing it at the end of
    ``fit()`` puts it on disk right away, where TensorBoard (and a check cell) can
    read it.

    Args:
        log_dir: the run's log folder, ``run.log_dir``.
        values: the run's hyperparameters, e.g. ``{"optimizer": "adam", "dropout": 0.3}``.
        trial_id: the name the HParams table shows for the run.
    """

    def __init__(self, log_dir: str | os.PathLike[str], values: Mapping[str, Value], trial_id: str | None = None):
        self._file_writer = tf.summary.create_file_writer(str(log_dir))
        super().__init__(self._file_writer, dict(values), trial_id=trial_id)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self._file_writer.close()


@dataclass(frozen=True)
class Experiment:
    """The hyperparameters and metrics of one comparison; made by :func:`experiment`."""

    log_dir: Path
    hparams: dict[str, tuple[Value, ...]]
    metrics: dict[str, str]

    def check(self, values: Mapping[str, Value]) -> None:
        """Raise ``ValueError`` unless ``values`` gives every hyperparameter a value from its domain."""
        missing = [name for name in self.hparams if name not in values]
        unknown = [name for name in values if name not in self.hparams]
        if missing or unknown:
            raise ValueError(
                f"hyperparameters {dict(values)} do not match the experiment's {sorted(self.hparams)}: "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {unknown}" if unknown else "")
                + ". Give every hyperparameter of the experiment a value, and only those."
            )
        for name, value in values.items():
            domain = self.hparams[name]
            if type(value) is not type(domain[0]):
                raise ValueError(
                    f"hyperparameter {name}={value!r} is a {type(value).__name__}, but the experiment's values "
                    f"for it are {type(domain[0]).__name__}s {list(domain)}: pass e.g. {domain[0]!r}"
                )
            if value not in domain:
                raise ValueError(
                    f"hyperparameter {name}={value!r} is not one of {list(domain)}: the HParams "
                    f"dashboard would hide this run. Add the value to the experiment's domain for {name!r}."
                )

    def callback(self, run: Run, values: Mapping[str, Value]) -> HParamsCallback:
        """An :class:`HParamsCallback` writing ``values`` into ``run.log_dir``, named after the run.

        Raises:
            ValueError: ``values`` misses a hyperparameter, has an unknown one, or a value
                outside its domain (the dashboard would silently hide such a run).
        """
        self.check(values)
        return HParamsCallback(run.log_dir, values, trial_id=run.name)


def experiment(
    log_dir: str | os.PathLike[str],
    hparams: Mapping[str, Sequence[Value]],
    metrics: Mapping[str, str],
) -> Experiment:
    """Write the HParams experiment record into ``log_dir`` (the folder above the runs).

    Earlier experiment records in ``log_dir`` itself are deleted first, so a rerun
    does not stack them; the runs' subfolders are left alone.

    Args:
        log_dir: the lesson's log folder, e.g. ``paths.logs_dir() / "03_fashion"``.
        hparams: each hyperparameter's possible values, e.g. ``{"dropout": [0.0, 0.3]}``.
            The values of one hyperparameter share one type (str, int, float or bool).
        metrics: ``"<sub-run>/<tag>"`` → display name, e.g.
            ``{"validation/epoch_loss": "val loss"}``: the scalar ``tag`` in each run's
            ``<sub-run>`` folder.

    Returns:
        An :class:`Experiment`, whose :meth:`Experiment.callback` makes the per-run callbacks.
    """
    log_dir = Path(log_dir)
    domains: dict[str, tuple[Value, ...]] = {}
    for name, values in hparams.items():
        values = tuple(values)
        if not values:
            raise ValueError(f"hyperparameter {name!r} has no values; list the values the runs use")
        if len({type(v) for v in values}) != 1 or not isinstance(values[0], (str, int, float, bool)):
            raise ValueError(
                f"hyperparameter {name!r} mixes or uses unsupported types {[type(v).__name__ for v in values]}; "
                "use one of str, int, float, bool for all its values (e.g. 0.0 rather than 0 next to 0.3)"
            )
        domains[name] = values
    for key in metrics:
        if key.count("/") != 1 or not all(key.split("/")):
            raise ValueError(f"metric {key!r} must read '<sub-run>/<tag>', e.g. 'validation/epoch_loss'")

    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("events.out.tfevents.*"):  # only this folder's own records, never the runs'
        old.unlink()
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp.hparams_config(
            hparams=[hp.HParam(name, hp.Discrete(list(values))) for name, values in domains.items()],
            metrics=[
                hp.Metric(key.split("/")[1], group=key.split("/")[0], display_name=display)
                for key, display in metrics.items()
            ],
        )
    writer.close()
    return Experiment(log_dir, domains, dict(metrics))
