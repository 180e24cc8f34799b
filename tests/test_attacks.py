"""Attacks on the safe loaders: bit flips, truncations, oversized declarations, bombs, hostile configs, wrong data.

Each test builds the damaged or hostile file itself (seeded), hands it to keraslab's loader and checks
for one clear error; the memory tests run the loader in a child process under an address-space limit.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import struct
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from keraslab import data, saving
from keraslab.data import DataFileError
from keraslab.processes import run_child
from keraslab.results import RESULT_FILE_ENV
from keraslab.saving import CheckpointError

sys.path.insert(0, str(Path(__file__).parent))
from resume_worker import load_script  # noqa: E402

resume_demo = load_script()  # lesson 06's script: get_model(), get_data()

SEED = int(os.environ.get("KERASLAB_FUZZ_SEED", "16"))
MEMORY_LIMIT = 3 << 30  # 3 GiB of address space for the child processes (TensorFlow itself needs ~2)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attack")
    keras.utils.set_random_seed(0)
    model = resume_demo.get_model()
    x, y = resume_demo.get_data(200)
    model.fit(x, y, epochs=1, verbose=0)  # real optimizer state in the files
    return {
        "model": model,
        "weights": saving.save_weights(model, folder / "model.weights.h5"),
        "keras": saving.save_model(model, folder / "model.keras"),
        "folder": folder,
    }


def _flip(data_: bytes, offset: int, bit: int) -> bytes:
    out = bytearray(data_)
    out[offset] ^= 1 << bit
    return bytes(out)


# ------------------------------------------------------------------ integrity


def test_every_file_keraslab_writes_is_sealed(files):
    assert saving.verify_digest(files["weights"]) == "verified"
    assert saving.verify_digest(files["keras"]) == "verified"
    plain = files["folder"] / "plain.weights.h5"
    files["model"].save_weights(plain)  # plain Keras: no digest, still loads
    assert saving.verify_digest(plain) == "unverified"
    saving.load_weights(resume_demo.get_model(), plain)


def test_weights_fuzz_every_flip_and_truncation_raises(files, tmp_path):
    good = files["weights"].read_bytes()
    rng = random.Random(SEED)
    cases = [("flip", rng.randrange(len(good)), rng.randrange(8)) for _ in range(60)]
    cases += [("cut", rng.randrange(8, len(good)), 0) for _ in range(30)]
    silent = []
    for kind, offset, bit in cases:
        bad = tmp_path / "bad.weights.h5"
        bad.write_bytes(_flip(good, offset, bit) if kind == "flip" else good[:offset])
        try:
            saving.load_weights(resume_demo.get_model(), bad)
        except CheckpointError as exc:
            assert str(bad) in str(exc)
        else:
            silent.append((kind, offset, bit))
    assert silent == [], f"{len(silent)} of {len(cases)} damaged files loaded: {silent}"


def test_keras_fuzz_every_flip_and_truncation_raises(files, tmp_path):
    good = files["keras"].read_bytes()
    rng = random.Random(SEED + 1)
    cases = [("flip", rng.randrange(len(good)), rng.randrange(8)) for _ in range(30)]
    cases += [("cut", rng.randrange(1, len(good)), 0) for _ in range(15)]
    for kind, offset, bit in cases:
        bad = tmp_path / "bad.keras"
        bad.write_bytes(_flip(good, offset, bit) if kind == "flip" else good[:offset])
        with pytest.raises(CheckpointError, match=r"bad\.keras"):
            saving.load_model(bad)


def test_digest_is_committed_with_the_file(files, tmp_path):
    """A kill between writing and the rename leaves the old sealed file or the new one, never a mix."""
    target = tmp_path / "m.weights.h5"
    shutil.copyfile(files["weights"], target)
    with pytest.raises(RuntimeError), saving.atomic_path(target) as tmp:
        files["model"].save_weights(str(tmp))
        raise RuntimeError("killed before the commit")
    assert saving.verify_digest(target) == "verified"
    assert [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]


# ------------------------------------------------------------------ oversized declarations

CHILD = textwrap.dedent(
    """
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    sys.path.insert(0, {tests!r})
    from keraslab import saving, data
    from resume_worker import load_script
    resume_demo = load_script()
    from keraslab.results import write_result
    start = time.monotonic()
    try:
        {call}
    except (saving.CheckpointError, data.DataFileError) as exc:
        outcome = {{"error": type(exc).__name__, "message": str(exc)}}
    else:
        outcome = {{"error": None, "message": "loaded"}}
    seconds = time.monotonic() - start
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    write_result({{**outcome, "seconds": seconds, "maxrss_mb": maxrss_mb}})
    """
)


def run_limited(call: str, timeout: int = 180) -> dict:
    """Run ``call`` in a child under a 3 GiB address-space limit; its result: error, message, seconds, maxrss_mb."""
    code = CHILD.format(limit=MEMORY_LIMIT, call=call, tests=str(Path(__file__).parent))
    env = {key: value for key, value in os.environ.items() if key != RESULT_FILE_ENV}  # the child gets its own file
    child = run_child([sys.executable, "-c", code], env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=timeout)
    assert child.ok and child.result, (
        f"child died ({child.returncode}): {child.lines[-20:]} {child.stderr_tail[-1500:]}"
    )
    print(child.result)
    return child.result


def oversized_h5(path: Path, template: Path) -> Path:
    """The template's weights file, with one kernel replaced by a 3.7 GiB declaration that stores no data."""
    shutil.copyfile(template, path)
    with h5py.File(path, "r+") as f:
        name = "layers/dense/vars/0" if "layers/dense/vars/0" in f else None
        if name is None:
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            name = names[0]
        del f[name]
        f.create_dataset(name, shape=(1_000_000_000,), dtype="float32")  # 3.73 GiB, never written
    return path


def test_oversized_weights_declaration_is_refused_within_seconds(files, tmp_path):
    bad = oversized_h5(tmp_path / "huge.weights.h5", files["weights"])
    assert bad.stat().st_size < 100_000
    out = run_limited(f"saving.load_weights(resume_demo.get_model(), {str(bad)!r})")
    assert out["error"] == "CheckpointError" and "refused before loading" in out["message"], out
    assert "3.73 GiB" in out["message"] and "stores 0 bytes" in out["message"]
    assert out["seconds"] < 10


def test_oversized_declaration_inside_a_keras_file_is_refused(files, tmp_path):
    inner = oversized_h5(tmp_path / "inner.weights.h5", files["weights"])
    bad = tmp_path / "huge.keras"
    with zipfile.ZipFile(files["keras"]) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            body = inner.read_bytes() if info.filename == "model.weights.h5" else src.read(info)
            dst.writestr(info.filename, body)
    assert bad.stat().st_size < 100_000
    out = run_limited(f"saving.load_model({str(bad)!r})")
    assert out["error"] == "CheckpointError", out
    assert "refused before loading" in out["message"] and "member model.weights.h5" in out["message"]


@pytest.fixture(scope="module")
def zeros_member(tmp_path_factory) -> Path:
    """One gzip member holding 3 GiB of zeros: about 3 MB on disk."""
    path = tmp_path_factory.mktemp("bomb") / "zeros.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(3 << 10):
            f.write(comp.compress(chunk))
        f.write(comp.flush())
    return path


@pytest.mark.parametrize(
    "header, expected",
    [
        (struct.pack(">IIII", 0x803, 10000, 28, 28), "more than the 7,840,016 bytes its header declares"),
        (struct.pack(">IIII", 0x803, 4_000_000, 28, 28), "refused: the header declares shape"),
        (b"", "not a uint8 IDX file"),
    ],
    ids=["valid-header-then-3GiB", "header-declares-3GiB", "no-header-3GiB-of-zeros"],
)
def test_gzip_bomb_is_a_clear_error_within_seconds(tmp_path, zeros_member, header, expected):
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes((gzip.compress(header) if header else b"") + zeros_member.read_bytes())  # two gzip members
    assert bomb.stat().st_size < 4 << 20
    out = run_limited(f"data.read_idx({str(bomb)!r}, expected_magic=0x803)")
    assert out["error"] == "DataFileError" and expected in out["message"], out
    assert out["seconds"] < 20 and out["maxrss_mb"] < 1500


# ------------------------------------------------------------------ hostile configs


def _with_config(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return dst


def _layer(config, name):
    return next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == name)


def _set_activation(value):
    return lambda config: _layer(config, "hidden")["config"].__setitem__("activation", value)


def _add_layer(entry):
    return lambda config: config["config"]["layers"].insert(1, entry)


def hostile_cases(marker: Path):
    touch = ["touch", str(marker)]
    fn = lambda module, name: {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }  # noqa: E731
    return {
        "os.system": _set_activation(fn("os", "system")),
        "subprocess.Popen": _add_layer({"module": "subprocess", "class_name": "Popen", "config": {"args": touch}}),
        "builtins.exec": _set_activation(fn("builtins", "exec")),
        "keras.config.enable_unsafe_deserialization": _set_activation(
            fn("keras.config", "enable_unsafe_deserialization")
        ),
        "keras.utils.get_file": _add_layer(
            {"module": "keras.utils", "class_name": "get_file", "config": {"origin": f"file://{marker}"}}
        ),
        "keras.layers.StringLookup, reading the file": _add_layer(
            {
                "module": "keras.layers",
                "class_name": "StringLookup",
                "config": {"name": "lookup", "vocabulary": str(marker)},
                "registered_name": None,
            }
        ),
        "keras.layers.TFSMLayer": _add_layer(
            {"module": "keras.layers", "class_name": "TFSMLayer", "config": {"filepath": str(marker.parent)}}
        ),
    }


@pytest.mark.parametrize("name", list(hostile_cases(Path("/x"))))
def test_hostile_config_is_refused_in_honest_words(files, tmp_path, name):
    marker = tmp_path / "pwned.txt"
    bad = _with_config(files["keras"], tmp_path / "innocent.keras", hostile_cases(marker)[name])
    with pytest.raises(CheckpointError) as e:
        saving.load_model(bad)
    message = str(e.value)
    assert f"refused: this file asks to run {name}" in message and "when loaded" in message
    assert "custom_objects" not in message and "safe_mode=False" not in message
    assert not marker.exists()


# ------------------------------------------------------------------ missing classes

SAVE_UNREGISTERED = textwrap.dedent(
    """
    import sys, keras, numpy as np
    class TinyClassifier(keras.Model):  # defined in this script only, not registered
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(3)
        def call(self, x):
            return self.dense(x)
    model = TinyClassifier(name="tiny_classifier")
    model(np.zeros((1, 4)))
    model.save(sys.argv[1])
    """
)


def test_missing_class_says_which_and_where(tmp_path):
    path = tmp_path / "tiny_classifier.keras"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = run_child([sys.executable, "-c", SAVE_UNREGISTERED, str(path)], env=env, timeout=180)
    assert child.ok, child.stderr_tail[-1500:]
    with pytest.raises(CheckpointError) as e:
        saving.load_model(path)
    message = str(e.value)
    assert "'TinyClassifier'" in message and "defined in a notebook or script" in message
    assert "custom_objects={'TinyClassifier': TinyClassifier}" in message
    assert "refused" not in message


def test_registered_class_names_its_package(tmp_path, monkeypatch):
    from keraslab import models

    model = models.CustomerTicketModel(num_departments=3)
    inputs, _ = models.random_ticket_data(num_samples=2, vocabulary_size=8, num_tags=2, num_departments=3)
    model(inputs)
    path = saving.save_model(model, tmp_path / "ticket.keras")
    registry = keras.saving.get_custom_objects()
    monkeypatch.delitem(registry, "keraslab>CustomerTicketModel")  # as in a process that never imported it
    with pytest.raises(CheckpointError) as e:
        saving.load_model(path)
    assert "'CustomerTicketModel', registered by the package 'keraslab'" in str(e.value)
    assert "import the module of 'keraslab' that defines it" in str(e.value)


# ------------------------------------------------------------------ wrong data


def _copy_set(src: Path, dst: Path, mapping: dict[str, str] | None = None, sums: Path | None = None) -> Path:
    dst.mkdir(parents=True)
    for stem in data._IDX_FILES.values():
        source = (mapping or {}).get(stem, stem)
        os.symlink(src / f"{source}.gz", dst / f"{stem}.gz")
    if sums is not None:
        shutil.copyfile(sums, dst / "SHA256SUMS")
    return dst


def test_fashion_files_in_the_mnist_folder(shared_data_dir, tmp_path):
    _copy_set(
        shared_data_dir / "fashion-mnist",
        tmp_path / "with-sums" / "mnist",
        sums=shared_data_dir / "mnist" / "SHA256SUMS",
    )
    with pytest.raises(DataFileError, match=r"SHA256SUMS lists for it: these look like Fashion-MNIST"):
        data.load_mnist(tmp_path / "with-sums", download=False)
    _copy_set(shared_data_dir / "fashion-mnist", tmp_path / "no-sums" / "mnist")
    with pytest.raises(
        DataFileError,
        match=r"train-images-idx3-ubyte\.gz: not the real MNIST training images.*look like Fashion-MNIST training",
    ):
        data.load_mnist(tmp_path / "no-sums", download=False)


def test_train_and_test_swapped(shared_data_dir, tmp_path):
    swap = {
        "train-images-idx3-ubyte": "t10k-images-idx3-ubyte",
        "train-labels-idx1-ubyte": "t10k-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte": "train-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte": "train-labels-idx1-ubyte",
    }
    _copy_set(shared_data_dir / "mnist", tmp_path / "d" / "mnist", swap)
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte\.gz: .*train and test look swapped"):
        data.load_mnist(tmp_path / "d", download=False)


def test_one_changed_pixel_is_caught(shared_data_dir, tmp_path):
    folder = _copy_set(shared_data_dir / "mnist", tmp_path / "d" / "mnist")
    raw = bytearray(gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes()))
    raw[5000] ^= 1
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes(raw))  # raw (uncompressed) files are checked too
    with pytest.raises(
        DataFileError, match=r"t10k-images-idx3-ubyte: not the real MNIST test images.*damaged or altered"
    ):
        data.load_mnist(tmp_path / "d", download=False)


def test_downloaded_arrays_are_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("KERASLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("KERASLAB_ROOT", str(tmp_path / "repo"))
    wrong = (
        (np.ones((60000, 28, 28), np.uint8), np.zeros(60000, np.uint8)),
        (np.zeros((10000, 28, 28), np.uint8), np.zeros(10000, np.uint8)),
    )
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: wrong)
    with pytest.raises(DataFileError, match="the downloaded training images: not the real Fashion-MNIST"):
        data.load_fashion_mnist(tmp_path / "empty")


def test_real_sets_pass_and_quickly(shared_data_dir):
    start = time.monotonic()
    data.load_mnist(shared_data_dir, download=False)
    data.load_fashion_mnist(shared_data_dir, download=False)
    assert time.monotonic() - start < 30
