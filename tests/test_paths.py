from pathlib import Path

import pytest

from keraslab import paths


def test_repo_root_is_the_checkout():
    root = paths.repo_root()
    assert (root / "pyproject.toml").is_file()
    assert (root / "src" / "keraslab" / "paths.py").is_file()


def test_repo_root_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASLAB_ROOT", str(tmp_path))
    assert paths.repo_root() == tmp_path.resolve()


def test_default_folders_live_in_the_repo(monkeypatch):
    for name in ("LOGS", "CHECKPOINTS", "FIGURES", "BUILD"):
        monkeypatch.delenv(f"KERASLAB_{name}_DIR", raising=False)
    root = paths.repo_root()
    assert paths.logs_dir() == root / "logs"
    assert paths.checkpoints_dir() == root / "checkpoints"
    assert paths.figures_dir() == root / "figures"
    assert paths.build_dir() == root / "build"


def test_folders_follow_environment(tmp_path):
    # the autouse fixture points every folder at tmp_path
    assert paths.logs_dir() == (tmp_path / "logs").resolve()
    assert paths.checkpoints_dir() == (tmp_path / "checkpoints").resolve()
    assert paths.figures_dir() == (tmp_path / "figures").resolve()
    assert paths.build_dir() == (tmp_path / "build").resolve()


def test_run_dir_is_fresh_on_rerun(tmp_path):
    first = paths.run_dir("logs", "01_iris", "baseline")
    (first / "events.out").write_text("old run")
    again = paths.run_dir("logs", "01_iris", "baseline")
    assert again == first
    assert list(again.iterdir()) == []


def test_run_dir_can_keep_contents():
    d = paths.run_dir("checkpoints", "nb", "run")
    (d / "keep.txt").write_text("x")
    assert (paths.run_dir("checkpoints", "nb", "run", fresh=False) / "keep.txt").is_file()


def test_run_dir_does_not_touch_sibling_runs():
    a = paths.run_dir("logs", "nb", "a")
    (a / "f").write_text("x")
    paths.run_dir("logs", "nb", "b")
    assert (a / "f").is_file()


@pytest.mark.parametrize("bad", ["", "a/b", "../up", "has space", ".hidden", "x..y"])
def test_run_dir_rejects_unsafe_names(bad):
    with pytest.raises(ValueError, match="plain folder name"):
        paths.run_dir("logs", "nb", bad)


def test_run_dir_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        paths.run_dir("tmp", "nb", "run")


def test_new_run_makes_both_folders():
    run = paths.new_run("03_fashion", "adam-dropout-0.3")
    assert run.log_dir.is_dir() and run.checkpoint_dir.is_dir()
    assert run.log_dir.parts[-2:] == ("03_fashion", "adam-dropout-0.3")
    assert run.checkpoint_dir.parts[-2:] == ("03_fashion", "adam-dropout-0.3")
    assert run.label == "03_fashion/adam-dropout-0.3"


def test_relative_inside_and_outside_repo(tmp_path):
    root = paths.repo_root()
    assert paths.relative(root / "logs" / "x") == "logs/x"
    assert paths.relative(tmp_path) == Path(tmp_path).resolve().as_posix()


def test_the_korean_edition_writes_one_level_down_and_has_its_own_scripts(tmp_path, monkeypatch):
    """setup(language="ko") keeps the Korean lessons' runs apart from the English ones (both may run at once)."""
    from keraslab import i18n

    english = {kind: getattr(paths, f"{kind}_dir")() for kind in ("logs", "checkpoints", "figures", "build")}
    assert paths.scripts_dir() == paths.repo_root() / "notebooks" / "scripts"
    monkeypatch.setattr(i18n, "_current", "ko")
    for kind, folder in english.items():
        assert getattr(paths, f"{kind}_dir")() == folder / "ko"
    assert paths.scripts_dir() == paths.repo_root() / "notebooks" / "ko" / "scripts"
    run = paths.new_run("01_iris", "baseline")
    assert run.log_dir == english["logs"] / "ko" / "01_iris" / "baseline" and run.log_dir.is_dir()
