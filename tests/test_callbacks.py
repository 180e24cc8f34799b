import math

import keras
import numpy as np
import pytest

from keraslab import callbacks, paths


def tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    return x, y


def tiny_model(optimizer="adam"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def run():
    return paths.new_run("test_nb", "tiny")


def test_checkpoint_whole_model_configuration(run):
    cb = callbacks.checkpoint(run, "model-{epoch:02d}-{val_accuracy:.4f}.keras", monitor="val_accuracy")
    assert isinstance(cb, keras.callbacks.ModelCheckpoint)
    assert cb.filepath == str(run.checkpoint_dir / "model-{epoch:02d}-{val_accuracy:.4f}.keras")
    assert cb.save_best_only and not cb.save_weights_only
    assert cb.monitor == "val_accuracy" and cb.mode == "auto"


def test_checkpoint_weights_only_from_name(run):
    cb = callbacks.checkpoint(run, "best.weights.h5", monitor="val_loss", verbose=1)
    assert cb.save_weights_only and cb.verbose == 1 and cb.monitor == "val_loss"


@pytest.mark.parametrize(
    "bad, hint",
    [("best.h5", "'best.keras'"), ("tmp_checkpoint.ckpt", "'tmp_checkpoint.weights.h5'"), ("best", "'best.keras'")],
)
def test_checkpoint_rejects_names_keras3_refuses(run, bad, hint):
    with pytest.raises(ValueError, match=hint):
        callbacks.checkpoint(run, bad)


def test_checkpoint_files_and_round_trip(run):
    x, y = tiny_data()
    model = tiny_model()
    cb = callbacks.checkpoint(run, "model-{epoch:02d}.keras", monitor="val_loss", save_best_only=False)
    model.fit(x, y, validation_split=0.25, epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    names = sorted(p.name for p in run.checkpoint_dir.iterdir())
    assert names == ["model-01.keras", "model-02.keras", "model-03.keras"]  # epochs are 1-based
    reloaded = keras.saving.load_model(run.checkpoint_dir / "model-03.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_weights_checkpoint_round_trip(run):
    x, y = tiny_data()
    model = tiny_model()
    cb = callbacks.checkpoint(run, "last.weights.h5", save_best_only=False)
    model.fit(x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[cb])
    fresh = tiny_model()
    fresh.load_weights(run.checkpoint_dir / "last.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_early_stopping_configuration():
    cb = callbacks.early_stopping(monitor="val_accuracy", patience=20)
    assert isinstance(cb, keras.callbacks.EarlyStopping)
    assert cb.monitor == "val_accuracy" and cb.patience == 20 and cb.restore_best_weights
    assert callbacks.early_stopping(restore_best_weights=False).restore_best_weights is False


def test_course_schedule_values():
    s = callbacks.course_schedule()
    lrs = [0.01]
    for epoch in range(10):
        lrs.append(s(epoch, lrs[-1]))
    assert lrs[1:6] == [0.01] * 5  # epochs 0-4 keep the rate
    for i in range(6, 11):
        assert lrs[i] == pytest.approx(lrs[i - 1] * math.exp(-0.1))
    assert lrs[-1] == pytest.approx(0.01 * math.exp(-0.5))
    assert isinstance(s(7, np.float32(0.1)), float)


def test_course_schedule_rejects_negative():
    with pytest.raises(ValueError):
        callbacks.course_schedule(hold_epochs=-1)


def test_lr_scheduler_in_fit_logs_learning_rate():
    x, y = tiny_data()
    model = tiny_model(keras.optimizers.SGD(learning_rate=0.01))
    history = model.fit(x, y, epochs=7, verbose=0, callbacks=[callbacks.lr_scheduler(hold_epochs=5)])
    lrs = history.history["learning_rate"]
    np.testing.assert_allclose(lrs[:5], 0.01, rtol=1e-6)
    np.testing.assert_allclose(lrs[5:], [0.01 * math.exp(-0.1), 0.01 * math.exp(-0.2)], rtol=1e-5)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01 * math.exp(-0.2), rel=1e-5)


def test_reduce_lr_on_plateau_configuration():
    cb = callbacks.reduce_lr_on_plateau(factor=0.2, patience=1)
    assert isinstance(cb, keras.callbacks.ReduceLROnPlateau)
    assert cb.factor == 0.2 and cb.patience == 1 and cb.monitor == "val_loss"


def test_csv_logger_round_trip(run):
    x, y = tiny_data()
    model = tiny_model()
    history = model.fit(x, y, validation_split=0.25, epochs=3, verbose=0, callbacks=[callbacks.csv_logger(run)])
    log = callbacks.read_csv_log(run.log_dir / "training.csv")
    assert log["epoch"] == [0.0, 1.0, 2.0]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(log[key], history.history[key], rtol=1e-5)


def test_read_csv_log_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CSV log here"):
        callbacks.read_csv_log(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="no rows"):
        callbacks.read_csv_log(tmp_path / "empty.csv")


def test_tensorboard_writes_train_and_validation_runs(run):
    x, y = tiny_data()
    model = tiny_model()
    cb = callbacks.tensorboard(run, histogram_freq=1)
    assert cb.log_dir == str(run.log_dir) and cb.histogram_freq == 1
    history = model.fit(x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[cb])
    assert list((run.log_dir / "train").glob("events.out.tfevents.*"))
    assert list((run.log_dir / "validation").glob("events.out.tfevents.*"))
    # read back with TensorBoard's reader: one point per epoch, the values fit() reported
    train = callbacks.read_tensorboard_scalars(run.log_dir / "train")
    val = callbacks.read_tensorboard_scalars(run.log_dir / "validation")
    assert {"epoch_loss", "epoch_learning_rate"} <= set(train) and "epoch_loss" in val
    assert [step for step, _ in train["epoch_loss"]] == [0, 1]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_loss"]], history.history["val_loss"], rtol=1e-6)


def test_read_tensorboard_scalars_reads_tf_summary_writers(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "loop"))
    with writer.as_default():
        for step, value in [(2, 0.25), (0, 1.5), (1, 0.5)]:  # written out of order
            tf.summary.scalar("epoch_loss", value, step=step)
        tf.summary.text("note", "not a scalar", step=0)
    writer.close()
    assert callbacks.read_tensorboard_scalars(tmp_path / "loop") == {"epoch_loss": [(0, 1.5), (1, 0.5), (2, 0.25)]}


def test_read_tensorboard_scalars_names_an_empty_or_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder missing"):
        callbacks.read_tensorboard_scalars(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"no TensorBoard event files \(found: \['notes.txt'\]\)"):
        callbacks.read_tensorboard_scalars(tmp_path / "empty")


def test_loss_history_records_batches_and_saves_plots(tmp_path):
    x, y = tiny_data(n=64)
    model = tiny_model()
    cb = callbacks.LossHistory(tmp_path / "figs")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert [len(e) for e in cb.epoch_losses] == [4, 4]  # 64 samples / 16 per batch
    assert [p.name for p in cb.saved] == ["plot_at_epoch_1.png", "plot_at_epoch_2.png"]
    for p in cb.saved:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_history_defaults_to_figures_dir():
    assert callbacks.LossHistory().folder == paths.figures_dir()
