"""Plots for the lessons: training curves for one or many runs, and learning rates.

Every function takes histories in any of the forms a lesson has at hand: a
``keras.callbacks.History`` (what ``fit`` returns), its ``.history`` dict, or
the dict :func:`keraslab.logreaders.read_csv_log` returns. Several runs go in
as a mapping ``{"run name": history}``::

    from keraslab.plots import plot_history
    fig = plot_history({"adam": h1, "rmsprop": h2}, metric="loss")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["as_history_dict", "plot_history", "plot_learning_rate", "save_figure"]

HistoryLike = Any  # keras.callbacks.History | Mapping[str, list[float]]


def as_history_dict(history: HistoryLike) -> dict[str, list[float]]:
    """``history.history`` for a ``History``; the dict itself for a dict."""
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a keras History or a dict of lists, got {type(history).__name__}")
    return {str(k): [float(v) for v in vals] for k, vals in data.items()}


def _runs(histories: HistoryLike | Mapping[str, HistoryLike]) -> dict[str, dict[str, list[float]]]:
    if hasattr(histories, "history"):
        return {"": as_history_dict(histories)}
    if (
        isinstance(histories, Mapping)
        and histories
        and all(hasattr(v, "history") or isinstance(v, Mapping) for v in histories.values())
    ):
        return {str(name): as_history_dict(h) for name, h in histories.items()}
    return {"": as_history_dict(histories)}


def _epoch_axis(ax) -> None:
    """Label the x axis "Epoch" and tick it at whole epochs only (never 2.5 or 7.5)."""
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _figure(ax, figsize=(6.5, 4)):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt  # pyplot so the figure shows inline in Jupyter

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def plot_history(
    histories: HistoryLike | Mapping[str, HistoryLike],
    metric: str = "loss",
    *,
    validation: bool = True,
    train: bool = True,
    ax=None,
    title: str | None = None,
    save_to: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot ``metric`` per epoch for one run or several, train (solid) vs validation (dashed).

    Args:
        histories: one history, or ``{"run name": history, ...}``.
        metric: a key of the history, e.g. ``"loss"`` or ``"accuracy"``; its
            validation twin is ``"val_" + metric``.
        validation / train: which of the two curves to draw.
        ax: draw into this matplotlib axes instead of a new figure.
        title: the axes title (default: the metric).
        save_to: also save the figure there (PNG/SVG by suffix).

    Returns:
        The matplotlib figure.

    Raises:
        KeyError: when a run has no such metric; the message lists the keys it has.
    """
    runs = _runs(histories)
    fig, ax = _figure(ax)
    for i, (name, hist) in enumerate(runs.items()):
        color = f"C{i}"
        prefix = f"{name} " if name else ""
        wanted = ([metric] if train else []) + ([f"val_{metric}"] if validation else [])
        present = [k for k in wanted if k in hist]
        if not present:
            raise KeyError(f"run {name or '(unnamed)'!r} has no {wanted}; it has {sorted(hist)}")
        for key in present:
            epochs = range(1, len(hist[key]) + 1)
            is_val = key.startswith("val_")
            ax.plot(
                epochs,
                hist[key],
                color=color,
                linestyle="--" if is_val else "-",
                marker="." if len(hist[key]) < 30 else None,
                label=f"{prefix}{'validation' if is_val else 'train'}",
            )
    _epoch_axis(ax)
    ax.set_ylabel(metric)
    ax.set_title(title or metric)
    ax.grid(alpha=0.3)
    ax.legend()
    if save_to is not None:
        save_figure(fig, save_to)
    return fig


def plot_learning_rate(
    histories: HistoryLike | Mapping[str, HistoryLike],
    *,
    key: str = "learning_rate",
    ax=None,
    log_scale: bool = False,
    save_to: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot the learning rate per epoch that ``LearningRateScheduler`` or
    ``ReduceLROnPlateau`` logged (Keras 3 logs it as ``learning_rate``)."""
    runs = _runs(histories)
    fig, ax = _figure(ax)
    for i, (name, hist) in enumerate(runs.items()):
        if key not in hist:
            raise KeyError(
                f"run {name or '(unnamed)'!r} logged no {key!r} (keys: {sorted(hist)}); "
                "only runs with a LearningRateScheduler or ReduceLROnPlateau log it"
            )
        ax.plot(range(1, len(hist[key]) + 1), hist[key], color=f"C{i}", marker=".", label=name or key)
    _epoch_axis(ax)
    ax.set_ylabel("Learning rate")
    ax.set_title("Learning rate per epoch")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if save_to is not None:
        save_figure(fig, save_to)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Save ``fig`` to ``path``, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
