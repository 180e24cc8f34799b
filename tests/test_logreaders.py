"""keraslab.logreaders: CSV logs, TensorBoard scalars and tags, read back from what Keras's callbacks wrote."""

import keras
import numpy as np
import pytest

from keraslab import logreaders, paths


def _fit(callbacks, epochs=2, validation_split=0.25):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, validation_split=validation_split, epochs=epochs, verbose=0, callbacks=callbacks)


@pytest.fixture
def run():
    return paths.new_run("test_nb", "logs")


def test_csv_log_round_trip(run):
    history = _fit([keras.callbacks.CSVLogger(run.log_dir / "training.csv")], epochs=3)
    log = logreaders.read_csv_log(run.log_dir / "training.csv")
    assert log["epoch"] == [0.0, 1.0, 2.0]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(log[key], history.history[key], rtol=1e-5)


def test_read_csv_log_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no CSV log here; pass keras.callbacks.CSVLogger"):
        logreaders.read_csv_log(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="no rows"):
        logreaders.read_csv_log(tmp_path / "empty.csv")


def test_tensorboard_scalars_and_tags_of_keras_callback(run):
    history = _fit([keras.callbacks.TensorBoard(log_dir=run.log_dir, histogram_freq=1)])
    train = logreaders.read_tensorboard_scalars(run.log_dir / "train")
    val = logreaders.read_tensorboard_scalars(run.log_dir / "validation")
    assert {"epoch_loss", "epoch_learning_rate"} <= set(train) and "epoch_loss" in val
    assert [step for step, _ in train["epoch_loss"]] == [0, 1]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_loss"]], history.history["val_loss"], rtol=1e-6)
    tags = logreaders.read_tensorboard_tags(run.log_dir / "train")
    assert tags["scalars"] == sorted(train)
    assert len(tags["histograms"]) == 2 and all("histogram" in t for t in tags["histograms"])  # kernel and bias


def test_read_tensorboard_scalars_reads_tf_summary_writers(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "loop"))
    with writer.as_default():
        for step, value in [(2, 0.25), (0, 1.5), (1, 0.5)]:  # written out of order
            tf.summary.scalar("epoch_loss", value, step=step)
        tf.summary.text("note", "not a scalar", step=0)
    writer.close()
    assert logreaders.read_tensorboard_scalars(tmp_path / "loop") == {"epoch_loss": [(0, 1.5), (1, 0.5), (2, 0.25)]}
    assert logreaders.read_tensorboard_tags(tmp_path / "loop") == {"scalars": ["epoch_loss"], "text": ["note"]}


@pytest.mark.parametrize("reader", [logreaders.read_tensorboard_scalars, logreaders.read_tensorboard_tags])
def test_tensorboard_readers_name_an_empty_or_missing_folder(tmp_path, reader):
    with pytest.raises(FileNotFoundError, match="folder missing"):
        reader(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"no TensorBoard event files \(found: \['notes.txt'\]\)"):
        reader(tmp_path / "empty")
