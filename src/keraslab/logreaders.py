"""Read training logs back: ``CSVLogger`` files, TensorBoard scalars and tags, and HParams records.

Every reader of a log the course writes lives here; the writers are Keras's own callbacks
(``keras.callbacks.CSVLogger``, ``keras.callbacks.TensorBoard``) and :mod:`keraslab.hparams`.
The TensorBoard readers use TensorBoard's own ``EventAccumulator``, so they see what the
dashboard shows; it imports TensorFlow, which happens only when one of them is called.

Example::

    from keraslab import logreaders

    log = logreaders.read_csv_log(run.log_dir / "training.csv")        # {"epoch": [0.0, ...], "loss": [...]}
    scalars = logreaders.read_tensorboard_scalars(run.log_dir / "train")  # {"epoch_loss": [(0, 0.51), ...]}
    tags = logreaders.read_tensorboard_tags(run.log_dir / "train")        # {"scalars": [...], "histograms": [...]}
    session = logreaders.read_hparams_session(run.log_dir)                # {"dropout": 0.3, "optimizer": "adam"}
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

__all__ = [
    "read_csv_log",
    "read_hparams_experiment",
    "read_hparams_session",
    "read_tensorboard_scalars",
    "read_tensorboard_tags",
]

HParamValue = str | int | float | bool


def read_csv_log(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Read a ``CSVLogger`` file back into a ``history.history``-like dict.

    Args:
        path: the file a ``keras.callbacks.CSVLogger`` wrote, e.g. ``run.log_dir / "training.csv"``.

    Returns:
        One list of floats per column; the ``epoch`` column too (0-based, as Keras writes it).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file has a header but no rows.

    Example::

        log = read_csv_log(run.log_dir / "training.csv")
        log["val_loss"][-1]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no CSV log here; pass keras.callbacks.CSVLogger({str(path)!r}) to fit() first"
        )
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: the CSV log has no rows; was training interrupted before epoch 1 ended?")
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def _accumulator(log_dir: Path, **size_guidance: int):
    """TensorBoard's ``EventAccumulator`` over ``log_dir``'s own event files, loaded."""
    from tensorboard.backend.event_processing import event_accumulator  # imports TensorFlow

    if not any(log_dir.glob("events.out.tfevents.*")):
        found = sorted(p.name for p in log_dir.iterdir()) if log_dir.is_dir() else "folder missing"
        raise FileNotFoundError(
            f"{log_dir}: no TensorBoard event files (found: {found}); did the run log here? The TensorBoard "
            "callback writes into <run>/train and <run>/validation"
        )
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance=size_guidance)
    acc.Reload()
    return acc


def read_tensorboard_scalars(log_dir: str | os.PathLike[str]) -> dict[str, list[tuple[int, float]]]:
    """The scalars in one TensorBoard folder, read with TensorBoard's own reader.

    Args:
        log_dir: a folder holding event files, e.g. ``run.log_dir / "train"`` (the
            ``TensorBoard`` callback writes ``train/`` and ``validation/``) or the folder of
            a ``tf.summary.create_file_writer``.

    Returns:
        ``{tag: [(step, value), ...]}`` in step order, e.g.
        ``{"epoch_loss": [(0, 0.51), (1, 0.37)], ...}``. Both kinds of scalar records are
        read: TF2 summaries (``tf.summary.scalar``, Keras 3's callback) and TF1 ones.

    Raises:
        FileNotFoundError: the folder holds no event files.

    Example::

        losses = [value for _, value in read_tensorboard_scalars(run.log_dir / "train")["epoch_loss"]]
    """
    from tensorboard.util import tensor_util

    acc = _accumulator(Path(log_dir), scalars=0, tensors=0)
    tags = acc.Tags()
    scalars = {tag: [(e.step, float(e.value)) for e in acc.Scalars(tag)] for tag in tags["scalars"]}
    for tag in tags["tensors"]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            scalars[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    return {tag: sorted(points) for tag, points in scalars.items()}


def read_tensorboard_tags(log_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The tags in one TensorBoard folder, grouped by the dashboard tab (plugin) that shows them.

    Args:
        log_dir: a folder holding event files, e.g. ``run.log_dir / "train"``.

    Returns:
        ``{plugin: sorted tags}``, e.g. ``{"scalars": ["epoch_accuracy", "epoch_loss"],
        "histograms": ["dense/kernel/histogram", ...], "graph_keras_model": [...]}``.

    Raises:
        FileNotFoundError: the folder holds no event files.

    Example::

        read_tensorboard_tags(run.log_dir / "train").get("histograms", [])
    """
    acc = _accumulator(Path(log_dir), tensors=1)
    tags = acc.Tags()
    grouped: dict[str, list[str]] = {}
    for tag in tags["tensors"]:
        grouped.setdefault(acc.SummaryMetadata(tag).plugin_data.plugin_name, []).append(tag)
    for kind in ("scalars", "histograms", "images"):  # TF1-style records
        grouped.setdefault(kind, []).extend(tags.get(kind, []))
    return {plugin: sorted(set(names)) for plugin, names in sorted(grouped.items()) if names}


def _hparams_record(log_dir: Path, tag: str, what: str, hint: str) -> bytes:
    """The content of one HParams record (``tag``) in ``log_dir``'s own event files."""
    from tensorboard.plugins.hparams import metadata

    content = _accumulator(log_dir, tensors=0).PluginTagToContent(metadata.PLUGIN_NAME).get(tag)
    if content is None:
        raise LookupError(f"{log_dir}: no HParams {what} record; {hint}")
    return content


def _value(value) -> HParamValue:
    kind = value.WhichOneof("kind")
    return {"number_value": value.number_value, "string_value": value.string_value, "bool_value": value.bool_value}[
        kind
    ]


def read_hparams_session(log_dir: str | os.PathLike[str]) -> dict[str, HParamValue]:
    """The hyperparameters a run's HParams session record holds, sorted by name.

    Args:
        log_dir: the run's folder, ``run.log_dir`` (where :class:`keraslab.hparams.HParamsCallback` writes).

    Returns:
        ``{name: value}``; numbers come back as floats (TensorBoard stores them so).

    Raises:
        FileNotFoundError: ``log_dir`` has no event files.
        LookupError: it has event files but no session record.

    Example::

        read_hparams_session(run.log_dir)   # {"dropout": 0.3, "epochs": 20.0, "optimizer": "adam"}
    """
    from tensorboard.plugins.hparams import metadata

    content = _hparams_record(
        Path(log_dir), metadata.SESSION_START_INFO_TAG, "session", "was an HParamsCallback passed to fit()?"
    )
    info = metadata.parse_session_start_info_plugin_data(content)
    # a protobuf map iterates in a different order in every process: sort by name
    return {name: _value(info.hparams[name]) for name in sorted(info.hparams)}


def read_hparams_experiment(log_dir: str | os.PathLike[str]) -> tuple[dict[str, list[HParamValue]], list[str]]:
    """The hyperparameter domains and metric names of an HParams experiment record.

    Args:
        log_dir: the folder above the runs, where :func:`keraslab.hparams.experiment` wrote.

    Returns:
        ``(hyperparameter → domain values, ["<sub-run>/<tag>", ...])``; TensorBoard stores each
        domain sorted, and numbers as floats.

    Raises:
        FileNotFoundError: ``log_dir`` has no event files.
        LookupError: it has event files but no experiment record.

    Example::

        domains, metrics = read_hparams_experiment(paths.logs_dir() / "03_fashion")
    """
    from tensorboard.plugins.hparams import metadata

    content = _hparams_record(
        Path(log_dir), metadata.EXPERIMENT_TAG, "experiment", "call keraslab.hparams.experiment(...) first"
    )
    exp = metadata.parse_experiment_plugin_data(content)
    domains = {info.name: [_value(v) for v in info.domain_discrete.values] for info in exp.hparam_infos}
    metrics = [f"{m.name.group}/{m.name.tag}" for m in exp.metric_infos]
    return domains, metrics
