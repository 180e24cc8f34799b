"""keraslab.lesson.setup: backend, quiet logs, seeds, version checks as numbers."""

import os
import subprocess
import sys
import textwrap

import pytest

from keraslab import lesson


@pytest.mark.parametrize(
    "older, newer",
    [("3.9.0", "3.15.1"), ("3.15.0", "3.15.1"), ("2.9.1", "2.21.0"), ("2.21.0rc1", "2.21.1"), ("0.4.9", "0.10.2")],
)
def test_versions_compare_as_numbers(older, newer):
    assert lesson._version_tuple(older) < lesson._version_tuple(newer)
    assert older < newer or older > newer  # (as strings "3.9.0" > "3.15.1": the bug this avoids)


def test_too_old_is_an_error_naming_the_fix():
    with pytest.raises(lesson.SetupError) as info:
        lesson._check_version("keras", "3.9.0")
    message = str(info.value)
    assert "keras 3.9.0 is too old" in message and ">= 3.15.1" in message
    assert '%pip install -U "keras>=3.15.1"' in message and "restart the kernel" in message


def test_other_version_is_one_warning_and_the_recorded_one_none():
    assert lesson._check_version("keras", lesson.RECORDED_WITH["keras"]) is None
    warning = lesson._check_version("tensorflow", "2.22.0")
    assert warning == "tensorflow 2.22.0 (the stored outputs were recorded with tensorflow 2.21.0)"


def test_recorded_versions_match_requirements():
    pins = dict(
        line.split("#")[0].strip().split("==")
        for line in (lesson_repo() / "requirements.txt").read_text().splitlines()
        if "==" in line.split("#")[0]
    )
    for name, version in lesson.RECORDED_WITH.items():
        if name in pins:
            assert pins[name] == version, f"RECORDED_WITH[{name!r}] = {version}, requirements.txt pins {pins[name]}"


def lesson_repo():
    from keraslab import paths

    return paths.repo_root()


def test_setup_prints_one_line_and_one_warning_for_another_version(monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    real = lesson._installed_version
    monkeypatch.setattr(lesson, "_installed_version", lambda name: "3.16.2" if name == "keras" else real(name))
    result = lesson.setup(backend="jax")  # KERAS_BACKEND wins over the lesson's default
    out, err = capsys.readouterr()
    assert result.backend == "tensorflow" and result.seed == 42 and result.deterministic_ops
    assert out == "keras 3.16.2 | tensorflow 2.21.0 | backend tensorflow | seed 42 | deterministic ops\n"
    assert err.count("\n") == 1 and "keras 3.16.2 (the stored outputs were recorded with keras 3.15.1)" in err


def test_setup_refuses_a_second_backend_in_one_kernel(monkeypatch):
    import keras  # noqa: F401  (imported with the tensorflow backend in this test process)

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(lesson.SetupError, match="already imported .* tensorflow backend.*restart the kernel"):
        lesson.setup()


def test_setup_names_a_missing_package(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(lesson.SetupError, match=r'keras is not installed in this kernel.*%pip install "keras>=3.15.1"'):
        lesson.setup()


def test_native_log_lines_are_dropped_and_other_stderr_kept(capfd):
    with lesson.quiet_native_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1796158333.578689    3542 cudart_stub.cc:31] Could not find cuda drivers\n")
        os.write(2, b"E0000 00:00:1796158341.149457    3542 cuda_platform.cc:52] failed call to cuInit\n")
        os.write(2, b"a real message from native code\n")
    err = capfd.readouterr().err
    assert err == "a real message from native code\n"


def test_a_fresh_process_prints_no_tensorflow_log_lines():
    """No TF_CPP_MIN_LOG_LEVEL, no Makefile variables: setup() alone keeps stderr clean."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS", "IPYTHON", "PYTHONWARN"))}
    code = textwrap.dedent(
        """
        from keraslab.lesson import setup
        setup()
        import keras, numpy as np
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), verbose=0)
        print("trained")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("keras ") and done.stdout.endswith("trained\n")
    assert done.stderr == "", f"stderr was not empty:\n{done.stderr}"


def test_a_lesson_about_tensorflow_refuses_another_backend(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(lesson.SetupError, match="runs only on the tensorflow backend") as caught:
        lesson.setup(backend="tensorflow", allow_other_backend=False, verbose=False)
    print(caught.value)
    assert "start the kernel without KERAS_BACKEND" in str(caught.value)


def test_the_first_setup_reports_the_backend(tmp_path, monkeypatch):
    from keraslab import results

    monkeypatch.setenv(results.RESULT_FILE_ENV, str(tmp_path / "kernel.json"))
    lesson._report_backend("tensorflow")  # the kernel's setup()
    lesson._report_backend("jax")  # a child process the lesson starts, with the same environment
    print(results.read_result(tmp_path / "kernel.json"))
    assert results.read_result(tmp_path / "kernel.json") == {"backend": "tensorflow"}


def test_setup_speaks_the_lessons_language(monkeypatch, capsys):
    from keraslab import i18n

    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    real = lesson._installed_version
    monkeypatch.setattr(lesson, "_installed_version", lambda name: "3.16.2" if name == "keras" else real(name))
    try:
        lesson.setup(backend="jax", language="ko")
        out, err = capsys.readouterr()
        assert i18n.language() == "ko"
        assert out == "keras 3.16.2 | tensorflow 2.21.0 | 백엔드 tensorflow | 시드 42 | 결정적 연산\n"
        assert err.startswith("경고: ") and "keras 3.16.2(저장된 출력은 keras 3.15.1로 기록했습니다)" in err
        with pytest.raises(ValueError, match="language='english' is not an edition of this course: use one of en, ko"):
            lesson.setup(backend="jax", language="english")
    finally:
        i18n.set_language("en")
