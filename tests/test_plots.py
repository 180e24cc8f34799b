import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from keraslab import plots

H1 = {
    "loss": [1.0, 0.6, 0.4],
    "val_loss": [1.1, 0.8, 0.7],
    "accuracy": [0.5, 0.7, 0.8],
    "val_accuracy": [0.4, 0.6, 0.7],
}
H2 = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.9], "learning_rate": [0.01, 0.005]}


def test_plot_history_single_dict():
    fig = plots.plot_history(H1, "loss")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), H1["val_loss"])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 3])  # epochs from 1


def test_plot_history_several_runs_validation_only():
    fig = plots.plot_history({"adam": H1, "rmsprop": H2}, "loss", train=False)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["adam validation", "rmsprop validation"]


def test_plot_history_accepts_keras_history():
    history = keras.callbacks.History()
    history.history = H1
    fig = plots.plot_history(history, "accuracy", validation=False)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train"]


def test_plot_history_missing_metric_lists_keys():
    with pytest.raises(KeyError, match=r"has no \['auc', 'val_auc'\]; it has \['learning_rate', 'loss', 'val_loss'\]"):
        plots.plot_history({"run": H2}, "auc")


def test_plot_history_rejects_non_history():
    with pytest.raises(TypeError, match="keras History or a dict"):
        plots.plot_history([1, 2, 3])


def test_plot_learning_rate_and_save(tmp_path):
    fig = plots.plot_learning_rate({"plateau": H2}, log_scale=True, save_to=tmp_path / "a" / "lr.png")
    assert (tmp_path / "a" / "lr.png").read_bytes()[:4] == b"\x89PNG"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.01, 0.005])
    assert fig.axes[0].get_yscale() == "log"


def test_plot_learning_rate_needs_the_key():
    with pytest.raises(KeyError, match="LearningRateScheduler or ReduceLROnPlateau"):
        plots.plot_learning_rate(H1)


def test_draw_into_given_axes():
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_history(H1, "loss", ax=left) is fig
    assert plots.plot_learning_rate(H2, ax=right) is fig
    plt.close(fig)


@pytest.mark.parametrize("epochs", [3, 5, 9, 20])
def test_epoch_ticks_are_whole_numbers(epochs):
    """Epochs are counted in whole numbers: no tick at 2.5 or 7.5 (matplotlib's default picks those for 20)."""
    history = {"loss": list(np.linspace(1, 0.1, epochs)), "learning_rate": [0.01] * epochs}
    for fig in (plots.plot_history(history, "loss", validation=False), plots.plot_learning_rate(history)):
        fig.canvas.draw()
        ax = fig.axes[0]
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
        assert ax.get_xlabel() == "Epoch"


def test_default_ticks_would_be_fractional():
    """The check above can fail: without the integer locator, 20 epochs get ticks at 2.5, 7.5, ..."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(range(1, 21), range(20))
    fig.canvas.draw()
    assert any(not float(t).is_integer() for t in ax.get_xticks())
    plt.close(fig)
