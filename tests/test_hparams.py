"""keraslab.hparams writes the HParams experiment and session records; keraslab.logreaders reads them back."""

import keras
import numpy as np
import pytest

from keraslab import hparams, logreaders, paths

DOMAINS = {"optimizer": ["rmsprop", "adam"], "dropout": [0.0, 0.3], "epochs": [2, 20], "early_stopping": [False, True]}
METRICS = {"validation/epoch_loss": "val loss", "train/epoch_accuracy": "accuracy"}


def _fit(run, cb, epochs=2):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    tensorboard = keras.callbacks.TensorBoard(log_dir=run.log_dir)
    model.fit(x, y, validation_split=0.25, epochs=epochs, verbose=0, callbacks=[tensorboard, cb])


def test_experiment_and_sessions_round_trip():
    root = paths.logs_dir() / "03_demo"
    experiment = hparams.experiment(root, DOMAINS, METRICS)
    assert experiment.log_dir == root and experiment.hparams["dropout"] == (0.0, 0.3)

    values = {"optimizer": "adam", "dropout": 0.3, "epochs": 2, "early_stopping": False}
    run = paths.new_run("03_demo", "adam-dropout-0.3")
    _fit(run, experiment.callback(run, values))

    assert logreaders.read_hparams_experiment(root) == (
        {
            "optimizer": ["adam", "rmsprop"],
            "dropout": [0.0, 0.3],
            "epochs": [2.0, 20.0],
            "early_stopping": [False, True],
        },
        ["validation/epoch_loss", "train/epoch_accuracy"],
    )
    # closed at the end of fit(): readable at once, in this process
    assert logreaders.read_hparams_session(run.log_dir) == {**values, "epochs": 2.0}
    # the run's own folder holds the session record; the metrics stay in train/ and validation/
    assert sorted(p.name for p in run.log_dir.iterdir() if p.is_dir()) == ["train", "validation"]
    assert "epoch_accuracy" in logreaders.read_tensorboard_scalars(run.log_dir / "train")


def test_rerun_replaces_the_experiment_record_and_keeps_the_runs():
    root = paths.logs_dir() / "03_demo"
    experiment = hparams.experiment(root, DOMAINS, METRICS)
    run = paths.new_run("03_demo", "r")
    _fit(run, experiment.callback(run, {"optimizer": "rmsprop", "dropout": 0.0, "epochs": 2, "early_stopping": True}))
    hparams.experiment(root, {"optimizer": ["sgd"]}, {"train/epoch_loss": "loss"})
    assert len(list(root.glob("events.out.tfevents.*"))) == 1
    assert logreaders.read_hparams_experiment(root) == ({"optimizer": ["sgd"]}, ["train/epoch_loss"])
    assert logreaders.read_hparams_session(run.log_dir)["optimizer"] == "rmsprop"  # the run is untouched


@pytest.mark.parametrize(
    "values, message",
    [
        ({"optimizer": "sgd", "dropout": 0.3, "epochs": 2, "early_stopping": False}, r"optimizer='sgd' is not one of"),
        (
            {"optimizer": "adam", "dropout": 0, "epochs": 2, "early_stopping": False},
            r"dropout=0 is a int.*pass e.g. 0.0",
        ),
        ({"optimizer": "adam", "dropout": 0.3, "epochs": 2, "early_stopping": 1}, r"early_stopping=1 is a int"),
        ({"optimizer": "adam"}, r"missing \['dropout', 'epochs', 'early_stopping'\]"),
        ({**dict.fromkeys(DOMAINS), "lr": 0.1}, r"unknown \['lr'\]"),
    ],
)
def test_callback_refuses_values_the_dashboard_would_hide(values, message):
    experiment = hparams.experiment(paths.logs_dir() / "03_demo", DOMAINS, METRICS)
    run = paths.new_run("03_demo", "bad")
    with pytest.raises(ValueError, match=message):
        experiment.callback(run, values)
    assert not list(run.log_dir.iterdir())  # nothing written


@pytest.mark.parametrize(
    "domains, metrics, message",
    [
        ({"dropout": []}, {}, "has no values"),
        ({"dropout": [0, 0.3]}, {}, r"mixes or uses unsupported types \['int', 'float'\]"),
        ({"dropout": [None]}, {}, "unsupported types"),
        ({"dropout": [0.3]}, {"epoch_loss": "loss"}, "must read '<sub-run>/<tag>'"),
    ],
)
def test_experiment_rejects_bad_domains_and_metric_names(domains, metrics, message):
    root = paths.logs_dir() / "03_demo"
    with pytest.raises(ValueError, match=message):
        hparams.experiment(root, domains, metrics)
    assert not root.exists()  # nothing written


def test_readers_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no TensorBoard event files"):
        logreaders.read_hparams_session(tmp_path)
    run = paths.new_run("03_demo", "no-hparams")
    _fit(run, keras.callbacks.Callback())
    with pytest.raises(FileNotFoundError):  # the TensorBoard callback writes only into train/ and validation/
        logreaders.read_hparams_session(run.log_dir)
    root = paths.logs_dir() / "03_demo"
    hparams.experiment(root, {"a": [1]}, {})
    with pytest.raises(LookupError, match="no HParams session record"):
        logreaders.read_hparams_session(root)
    experiment_dir = paths.logs_dir() / "03_other"
    hparams.experiment(experiment_dir, {"a": [1]}, {})
    run_b = paths.new_run("03_other", "b")
    _fit(run_b, hparams.HParamsCallback(run_b.log_dir, {"a": 1}, trial_id="b"))
    with pytest.raises(LookupError, match="no HParams experiment record"):
        logreaders.read_hparams_experiment(run_b.log_dir)


def test_read_session_returns_the_names_sorted():
    """Protobuf maps iterate in a per-process random order; notebooks print this dict."""
    experiment = hparams.experiment(paths.logs_dir() / "03_demo", DOMAINS, METRICS)
    run = paths.new_run("03_demo", "order")
    _fit(run, experiment.callback(run, {"optimizer": "adam", "early_stopping": True, "epochs": 20, "dropout": 0.0}))
    assert list(logreaders.read_hparams_session(run.log_dir)) == ["dropout", "early_stopping", "epochs", "optimizer"]
