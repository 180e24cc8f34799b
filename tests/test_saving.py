"""Atomic saves and safe, explained loading (keraslab.saving)."""

import keras
import numpy as np
import pytest

from keraslab import saving
from keraslab.saving import CheckpointError


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax", name="out")], name="small")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


X = np.random.default_rng(0).random((8, 4)).astype("float32")


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    keras_path = saving.save_model(model, tmp_path / "model.keras")
    weights_path = saving.save_weights(model, tmp_path / "model.weights.h5")
    return model, keras_path, weights_path


def test_round_trips_are_identical(saved):
    model, keras_path, weights_path = saved
    np.testing.assert_allclose(saving.load_model(keras_path).predict(X, verbose=0), model.predict(X, verbose=0))
    fresh = saving.load_weights(small_model(seed=1), weights_path)
    np.testing.assert_allclose(fresh.predict(X, verbose=0), model.predict(X, verbose=0))


def test_no_temporary_files_left(saved, tmp_path):
    # and the list of the files keraslab sealed there (so that one that loses its digest is refused)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keraslab-sealed", "model.keras", "model.weights.h5"]


def test_failed_save_keeps_the_previous_file(saved, tmp_path):
    model, keras_path, _ = saved
    before = keras_path.read_bytes()

    def broken_save(path):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), saving.atomic_path(keras_path) as tmp:
        broken_save(tmp)
    assert keras_path.read_bytes() == before
    # and the list of the files keraslab sealed there (so that one that loses its digest is refused)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keraslab-sealed", "model.keras", "model.weights.h5"]


@pytest.mark.parametrize("name, fix", [("model.h5", "model.keras"), ("model.ckpt", "model.keras")])
def test_save_model_names(tmp_path, name, fix):
    with pytest.raises(CheckpointError, match=fix):
        saving.save_model(small_model(), tmp_path / name)


def test_save_weights_names(tmp_path):
    with pytest.raises(CheckpointError, match="tmp_checkpoint.weights.h5"):
        saving.save_weights(small_model(), tmp_path / "tmp_checkpoint.ckpt")


def test_missing_file_lists_what_is_there(saved, tmp_path):
    with pytest.raises(CheckpointError, match=r"best\.keras: file not found\. The folder has: model\.keras"):
        saving.load_model(tmp_path / "best.keras")


def test_empty_file(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.*interrupted"):
        saving.load_model(tmp_path / "m.keras")


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.9])
def test_truncated_keras(saved, tmp_path, keep):
    _, keras_path, _ = saved
    data = keras_path.read_bytes()
    bad = tmp_path / "bad.keras"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=r"bad\.keras: .*(truncated or corrupt|corrupt)"):
        saving.load_model(bad)


def test_bit_flipped_keras(saved, tmp_path):
    _, keras_path, _ = saved
    data = bytearray(keras_path.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 64):
        data[offset] ^= 0xFF
    bad = tmp_path / "flipped.keras"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flipped\.keras: "):
        saving.load_model(bad)


def test_truncated_weights(saved, tmp_path):
    _, _, weights_path = saved
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(weights_path.read_bytes()[:3000])
    with pytest.raises(CheckpointError, match=r"bad\.weights\.h5: cannot be loaded: the file is truncated or corrupt"):
        saving.load_weights(small_model(), bad)


def test_bit_flipped_weights(saved, tmp_path):
    _, _, weights_path = saved
    data = bytearray(weights_path.read_bytes())
    data[:8] = b"\0" * 8  # HDF5 signature gone
    bad = tmp_path / "flipped.weights.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not an HDF5 file"):
        saving.load_weights(small_model(), bad)


def test_wrong_format_swaps(saved, tmp_path):
    _, keras_path, weights_path = saved
    swapped = tmp_path / "weights_really.keras"
    swapped.write_bytes(weights_path.read_bytes())
    with pytest.raises(CheckpointError, match=r"an HDF5 file \(rename it"):
        saving.load_model(swapped)
    swapped2 = tmp_path / "model_really.weights.h5"
    swapped2.write_bytes(keras_path.read_bytes())
    with pytest.raises(CheckpointError, match="a .keras zip archive; expected HDF5 weights"):
        saving.load_weights(small_model(), swapped2)
    with pytest.raises(CheckpointError, match="for weights use load_weights"):
        saving.load_model(weights_path)


def test_weights_of_another_model(saved):
    _, _, weights_path = saved
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(7)])
    with pytest.raises(CheckpointError, match="model.weights.h5: cannot be loaded"):
        saving.load_weights(other, weights_path)


def test_zip_that_is_not_a_model(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.keras", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="not a Keras model"):
        saving.load_model(tmp_path / "x.keras")


def test_corrupt_json(tmp_path):
    (tmp_path / "state.json").write_text('{"epoch": 3, "bat')
    with pytest.raises(CheckpointError, match="truncated or corrupt JSON"):
        saving.read_json(tmp_path / "state.json")


def test_malicious_lambda_is_refused_and_never_runs(tmp_path):
    import sys

    from keraslab.processes import run_child

    marker = tmp_path / "pwned.txt"
    inputs = keras.Input((2,))
    # The path is a literal inside the lambda's code (a closure would not serialize).
    evil = keras.layers.Lambda(eval(f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]"))
    model = keras.Model(inputs, evil(inputs))
    path = tmp_path / "evil.keras"
    model.save(path)
    marker.unlink()  # building the model above ran the lambda once

    with pytest.raises(CheckpointError, match=r"evil\.keras: cannot be loaded: it contains a Lambda layer"):
        saving.load_model(path)
    assert not marker.exists()

    # The threat is real: an unsafe load in another process runs the code.
    code = f"import keras; keras.config.enable_unsafe_deserialization(); keras.saving.load_model({str(path)!r})"
    run_child([sys.executable, "-c", code], timeout=300)
    assert marker.exists()


def test_read_json_is_public():
    assert "read_json" in saving.__all__


def test_an_hdf5_array_stored_outside_the_checkpoint_is_refused_as_such(saved, tmp_path):
    import h5py

    _, _, weights_path = saved
    (tmp_path / "elsewhere.bin").write_bytes(bytes(48))
    for kind in ("external storage", "external link"):
        hostile = tmp_path / f"{kind.replace(' ', '-')}.weights.h5"
        hostile.write_bytes(weights_path.read_bytes()[: -saving._TRAILER])  # the HDF5 part, without the digest
        with h5py.File(hostile, "r+") as f:
            name = next(key for key in f["layers"])
            del f[f"layers/{name}/vars/0"]
            if kind == "external storage":
                f.create_dataset(f"layers/{name}/vars/0", shape=(4, 3), dtype="float32",
                                 external=[(str(tmp_path / "elsewhere.bin"), 0, 48)])
            else:
                f[f"layers/{name}/vars/0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
        with pytest.raises(CheckpointError, match="outside this checkpoint") as error:
            saving.load_weights(small_model(), hostile)
        assert "refused" in str(error.value) and "corrupt" not in str(error.value), kind


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil.txt", "assets/../../evil.txt"])
def test_a_keras_zip_member_named_outside_the_archive_is_refused(saved, tmp_path, member):
    import zipfile

    _, keras_path, _ = saved
    hostile = tmp_path / "traversal.keras"
    with zipfile.ZipFile(keras_path) as source, zipfile.ZipFile(hostile, "w") as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
        archive.writestr(member, b"written outside")
    with pytest.raises(CheckpointError, match=f"refused: the member name {member!r} points outside the archive"):
        saving.load_model(hostile)
