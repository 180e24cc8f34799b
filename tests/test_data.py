import gzip
from pathlib import Path

import numpy as np
import pytest

from conftest import write_dataset, write_idx
from keraslab import data
from keraslab.data import DataFileError, DataNotFoundError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture
def no_env_data(monkeypatch, tmp_path):
    """No KERASLAB_DATA_DIR and an empty repo data/ folder."""
    monkeypatch.delenv("KERASLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("KERASLAB_ROOT", str(tmp_path / "repo"))
    return tmp_path


# ---------------------------------------------------------------- read_idx


def test_read_idx_gz_and_raw(tmp_path):
    arr = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    for gz in (True, False):
        path = write_idx(tmp_path / f"img{gz}", arr, gz=gz)
        out = data.read_idx(path, expected_magic=0x803)
        assert out.dtype == np.uint8 and out.shape == (2, 28, 28)
        np.testing.assert_array_equal(out, arr)


def test_read_idx_bad_magic(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((2, 28, 28)), magic=0x12345678)
    with pytest.raises(DataFileError, match=r"not a uint8 IDX file.*0x12345678") as e:
        data.read_idx(path)
    assert str(path) in str(e.value)


def test_read_idx_labels_where_images_expected(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5))
    with pytest.raises(DataFileError, match=r"expected an IDX images file .*found magic 0x00000801.*swapped"):
        data.read_idx(path, expected_magic=0x803)


def test_read_idx_truncated(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 28, 28)), truncate=100)
    with pytest.raises(DataFileError, match=r"2352 bytes of data, found 2252 bytes \(truncated\)"):
        data.read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros(4), gz=False)
    path.write_bytes(path.read_bytes() + b"\0\0")
    with pytest.raises(DataFileError, match="trailing bytes"):
        data.read_idx(path)


def test_read_idx_corrupt_gzip(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 28, 28)))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataFileError, match="cannot be decompressed"):
        data.read_idx(path)


def test_read_idx_not_gzip_at_all(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_text("<html>404 not found</html>")
    with pytest.raises(DataFileError, match=str(path)):
        data.read_idx(path)


def test_read_idx_empty_and_short_header(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match="found 0 bytes"):
        data.read_idx(empty)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(DataFileError, match="3 dimensions but the file ends at byte 6"):
        data.read_idx(short)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="file not found"):
        data.read_idx(tmp_path / "nope.gz")


def test_read_idx_gzip_with_trailing_garbage_says_so(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 28, 28)))
    path.write_bytes(path.read_bytes() + b"<html>appended</html>")
    with pytest.raises(DataFileError, match="trailing bytes after the end of its gzip data") as error:
        data.read_idx(path)
    assert "truncated or not gzip" not in str(error.value)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_read_idx_link_to_a_device_is_not_a_regular_file(tmp_path, no_env_data):
    link = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    write_dataset(tmp_path / "mnist")
    link.unlink()
    link.symlink_to("/dev/zero")
    with pytest.raises(DataFileError, match=r"not a regular file \(a link to /dev/zero\)"):
        data.read_idx(link)
    with pytest.raises(DataFileError, match="not a regular file"):  # not "missing" in the folder either
        data.load_mnist(tmp_path, download=False)


# ---------------------------------------------------------------- data sets


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_explicit_folder(tmp_path, no_env_data, gz):
    arrays = write_dataset(tmp_path / "d" / "mnist", gz=gz)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path / "d", download=False)
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    assert x_train.dtype == y_train.dtype == x_test.dtype == np.uint8
    assert x_train.shape == (12, 28, 28) and y_train.shape == (12,) and x_test.shape == (5, 28, 28)


def test_folder_may_hold_files_directly(tmp_path, no_env_data):
    write_dataset(tmp_path / "flat")
    (x_train, _), _ = data.load_fashion_mnist(tmp_path / "flat", download=False)
    assert x_train.shape == (12, 28, 28)


def test_lookup_order_explicit_env_repo(tmp_path, no_env_data, monkeypatch):
    write_dataset(tmp_path / "explicit" / "mnist", n_train=3)
    write_dataset(tmp_path / "env" / "mnist", n_train=4)
    write_dataset(tmp_path / "repo" / "data" / "mnist", n_train=5)
    monkeypatch.setenv("KERASLAB_DATA_DIR", str(tmp_path / "env"))
    assert len(data.load_mnist(tmp_path / "explicit", download=False)[0][0]) == 3
    assert len(data.load_mnist(download=False)[0][0]) == 4
    monkeypatch.delenv("KERASLAB_DATA_DIR")
    assert len(data.load_mnist(download=False)[0][0]) == 5


def test_count_mismatch(tmp_path, no_env_data):
    folder = tmp_path / "mnist"
    write_dataset(folder)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(11))
    with pytest.raises(DataFileError, match="has 12 images but .*train-labels-idx1-ubyte.gz has 11 labels"):
        data.load_mnist(tmp_path, download=False)


def test_label_out_of_range(tmp_path, no_env_data):
    folder = tmp_path / "mnist"
    write_dataset(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 10]))
    with pytest.raises(DataFileError, match=r"labels must lie in 0\.\.9, found 10"):
        data.load_mnist(tmp_path, download=False)


def test_wrong_image_size(tmp_path, no_env_data):
    folder = tmp_path / "mnist"
    write_dataset(folder)
    write_idx(folder / "train-images-idx3-ubyte", np.zeros((12, 32, 32)))
    with pytest.raises(DataFileError, match=r"expected images of shape \(28, 28\), found \(32, 32\)"):
        data.load_mnist(tmp_path, download=False)


def test_swapped_files(tmp_path, no_env_data):
    folder = tmp_path / "mnist"
    arrays = write_dataset(folder)
    write_idx(folder / "train-images-idx3-ubyte", arrays["train-labels-idx1-ubyte"])
    with pytest.raises(DataFileError, match="swapped"):
        data.load_mnist(tmp_path, download=False)


def test_incomplete_folder_names_missing_files(tmp_path, no_env_data):
    folder = tmp_path / "mnist"
    write_dataset(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        data.load_mnist(tmp_path, download=False)


def test_nothing_found_offline_says_where_to_put_files(tmp_path, no_env_data):
    with pytest.raises(DataNotFoundError) as e:
        data.load_mnist(tmp_path / "empty", download=False)
    msg = str(e.value)
    assert "mnist was not found" in msg and "KERASLAB_DATA_DIR" in msg
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "empty" / "mnist") in msg


def test_failed_download_is_a_clear_error_not_a_socket_traceback(tmp_path, no_env_data, monkeypatch):
    import urllib.error

    import keras

    def offline():
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(DataNotFoundError) as e:
        data.load_fashion_mnist(tmp_path / "empty")
    msg = str(e.value)
    assert "fashion-mnist was not found" in msg
    assert "download through keras.datasets.fashion_mnist failed too: URLError" in msg
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_download_used_when_no_files(tmp_path, no_env_data, monkeypatch):
    import keras

    fake = ((np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8)),) * 2
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    assert data.load_mnist(tmp_path / "empty") is fake


# ---------------------------------------------------------------- real data


def test_real_mnist(shared_data_dir):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(shared_data_dir, download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert int(x_train.max()) == 255 and int(x_train.min()) == 0


def test_real_fashion_mnist(shared_data_dir):
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(shared_data_dir, download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert len(data.FASHION_MNIST_CLASSES) == 10


def test_real_gz_files_decompress_to_what_we_read(shared_data_dir):
    path = shared_data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    np.testing.assert_array_equal(data.read_idx(path), np.frombuffer(raw, np.uint8, offset=8))


# ---------------------------------------------------------------- iris


def test_iris_split_shapes_and_stratification():
    (x_train, y_train), (x_test, y_test) = data.load_iris_split()
    assert x_train.shape == (120, 4) and x_test.shape == (30, 4)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert np.bincount(y_test).tolist() == [10, 10, 10]
    assert np.bincount(y_train).tolist() == [40, 40, 40]


def test_iris_split_is_deterministic_and_shuffled():
    (a, ya), _ = data.load_iris_split()
    (b, yb), _ = data.load_iris_split()
    np.testing.assert_array_equal(a, b)
    # fit(validation_split=0.2) takes the last 24 rows: they must hold every class
    assert set(ya[-24:].tolist()) == {0, 1, 2}
    (_, yc), _ = data.load_iris_split(seed=1)
    assert not np.array_equal(ya, yc)


# ---------------------------------------------------------------- check_arrays


def test_check_arrays_accepts_good_data():
    data.check_arrays(np.zeros((3, 28, 28), np.uint8), np.array([0, 9, 5]), num_classes=10, sample_shape=(28, 28))
    data.check_arrays(np.zeros((2, 4), np.float32), np.array([0.0, 2.0]), num_classes=3)


@pytest.mark.parametrize(
    "x, y, kwargs, error, message",
    [
        (np.zeros((0, 4)), np.zeros(0, int), {}, ValueError, "is empty"),
        (np.zeros((3, 4)), np.zeros(2, int), {}, ValueError, "has 3 samples but the labels have 2"),
        (
            np.zeros((3, 32, 32)),
            np.zeros(3, int),
            {"sample_shape": (28, 28)},
            ValueError,
            r"should have shape \(28, 28\)",
        ),
        (np.array([["a"], ["b"]]), np.zeros(2, int), {}, TypeError, "must be numeric"),
        (np.array([[1.0], [np.nan]]), np.zeros(2, int), {}, ValueError, "1 NaN or inf"),
        (np.array([[1.0], [np.inf]]), np.zeros(2, int), {}, ValueError, "NaN or inf"),
        (np.zeros((2, 1)), np.array([0.0, 0.5]), {}, ValueError, r"divided, e\.g\. y / y\.max"),
        (np.zeros((2, 1)), np.array(["a", "b"]), {}, TypeError, "labels must be integers"),
        (np.zeros((2, 1)), np.array([0, 10]), {"num_classes": 10}, ValueError, r"0\.\.9, found 10"),
        (np.zeros((2, 1)), np.array([-1, 1]), {"num_classes": 10}, ValueError, "found -1"),
    ],
)
def test_check_arrays_rejects_bad_input(x, y, kwargs, error, message):
    with pytest.raises(error, match=message):
        data.check_arrays(x, y, **kwargs)
