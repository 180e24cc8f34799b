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


def test_checkpoint_to_an_existing_folder_says_so_as_keras_does(run):
    x, y = tiny_data()
    (run.checkpoint_dir / "best.keras").mkdir()
    cb = callbacks.checkpoint(run, "best.keras", save_best_only=False)
    with pytest.raises(OSError, match="non-directory filepath for ModelCheckpoint.*existing directory"):
        tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[cb])


def test_checkpoint_creates_a_missing_folder(tmp_path):
    x, y = tiny_data()
    cb = callbacks.AtomicModelCheckpoint(str(tmp_path / "new" / "last.keras"), save_best_only=False)
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert (tmp_path / "new" / "last.keras").is_file()


def test_temporary_alias_returns_the_keras_callback(run):
    """Kept until lesson 07 uses keras.callbacks.TensorBoard."""
    assert callbacks.tensorboard(run, histogram_freq=1).histogram_freq == 1
