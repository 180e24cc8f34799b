"""The notebook runner behind `make run` / `make outputs`, on tiny notebooks."""

import json

import nbformat
import pytest

from keraslab import runner


def make_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def test_table_lists_results_and_total():
    table = runner._table(
        [runner.Result("01_a.ipynb", 1.25, "ok", "acc = 0.9", 812.0), runner.Result("02_b.ipynb", 2.0, "FAILED")]
    )
    lines = table.splitlines()
    assert lines[0].split("|")[0].strip() == "notebook"
    assert "01_a.ipynb" in lines[2] and "1.2 s" in lines[2] and "acc = 0.9" in lines[2] and "812 MB" in lines[2]
    assert "FAILED" in lines[3]
    assert lines[-1].startswith(" total") and "3.2 s" in lines[-1]


def test_run_writes_copies_and_reads_the_headline_from_printed_lines(tmp_path):
    nb1 = make_notebook(
        tmp_path / "01_one.ipynb",
        "print('test accuracy: 0.5000')",
        "print('epochs: 3')\nprint('test accuracy: 0.9333')\nprint('learning rate: 0.001')",
    )
    nb2 = make_notebook(tmp_path / "02_two.ipynb", "print('hello')")
    out = tmp_path / "out"
    results = runner.run_notebooks([nb1, nb2], out_dir=out, timeout=120)
    assert [(r.notebook, r.status, r.headline) for r in results] == [
        ("01_one.ipynb", "ok", "test accuracy = 0.9333"),  # the last accuracy/loss line printed
        ("02_two.ipynb", "ok", ""),
    ]
    executed = nbformat.read(out / "01_one.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "test accuracy: 0.5000\n"
    assert nbformat.read(nb1, as_version=4).cells[1].outputs == []  # the source notebook is untouched


def test_two_jobs_run_two_notebooks_at_once_and_keep_the_order(tmp_path):
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    code = ("import time, pathlib\nstart = time.time()\ntime.sleep(4)\n"
            f"pathlib.Path({str(stamps)!r}, str(start)).write_text(str(time.time()))\nprint('val loss: 0.25')")
    sleepy = [make_notebook(tmp_path / f"0{i}_s.ipynb", code) for i in (1, 2)]
    results = runner.run_notebooks(sleepy, out_dir=tmp_path / "out", timeout=120, jobs=2)
    assert [(r.notebook, r.status, r.headline) for r in results] == [
        ("01_s.ipynb", "ok", "val loss = 0.25"), ("02_s.ipynb", "ok", "val loss = 0.25")]
    spans = [(float(p.name), float(p.read_text())) for p in stamps.iterdir()]
    print("cells ran from/to:", spans)
    assert max(start for start, _ in spans) < min(end for _, end in spans), "the two notebooks did not overlap"


def test_two_jobs_start_nothing_new_after_a_failure(tmp_path):
    bad = make_notebook(tmp_path / "01_bad.ipynb", "raise RuntimeError('boom')")
    slow = make_notebook(tmp_path / "02_slow.ipynb", "import time\ntime.sleep(4)")
    never = make_notebook(tmp_path / "03_never.ipynb", "print('after')")
    results = runner.run_notebooks([bad, slow, never], out_dir=tmp_path / "out", timeout=120, jobs=2)
    assert [(r.notebook, r.status) for r in results] == [("01_bad.ipynb", "FAILED"), ("02_slow.ipynb", "ok")]


def test_failure_stops_the_run(tmp_path, capsys):
    bad = make_notebook(tmp_path / "01_bad.ipynb", "print('before')", "raise RuntimeError('boom in cell 2')")
    never = make_notebook(tmp_path / "02_never.ipynb", "print('after')")
    results = runner.run_notebooks([bad, never], out_dir=tmp_path / "out", timeout=120)
    assert [(r.notebook, r.status) for r in results] == [("01_bad.ipynb", "FAILED")]
    err = capsys.readouterr().err
    assert "01_bad.ipynb FAILED" in err and "raise RuntimeError('boom in cell 2')" in err and "boom in cell 2" in err
    assert not (tmp_path / "out" / "02_never.ipynb").exists()


def test_main_exit_codes(tmp_path, capsys):
    ok = make_notebook(tmp_path / "01_ok.ipynb", "1 + 1")
    assert runner.main([str(ok)]) == 0
    assert "1/1 notebooks run" in capsys.readouterr().out
    saved = json.loads((runner.paths.build_dir() / "run_results.json").read_text())
    assert saved["results"][0]["notebook"] == "01_ok.ipynb" and saved["results"][0]["peak_rss_mb"] > 10
    assert runner.main([str(tmp_path / "missing.ipynb")]) == 2


def test_default_backend_comes_from_the_setup_call(tmp_path):
    jax_lesson = make_notebook(tmp_path / "01_j.ipynb", 'from keraslab.lesson import setup\nsetup(backend="jax")')
    assert runner.default_backend(jax_lesson) == "jax"
    no_setup = make_notebook(tmp_path / "02_n.ipynb", "print('no setup')")
    with pytest.raises(ValueError, match="no setup"):
        runner.default_backend(no_setup)


def test_backend_option_sets_keras_backend_for_the_kernel(tmp_path):
    nb = make_notebook(
        tmp_path / "01_b.ipynb",
        "import os\nfrom keraslab.results import write_result\nwrite_result({'backend': os.environ['KERAS_BACKEND']})",
    )
    (result,) = runner.run_notebooks([nb], out_dir=tmp_path / "out", timeout=120, backend="tensorflow")
    assert (result.status, result.backend) == ("ok", "tensorflow")
    (result,) = runner.run_notebooks([nb], out_dir=tmp_path / "out", timeout=120, backend={nb: "jax"})
    assert (result.status, result.backend) == ("ok", "jax")


def test_other_backend_runs_only_backend_agnostic_lessons(tmp_path, monkeypatch, capsys):
    agnostic = make_notebook(tmp_path / "01_a.ipynb", 'setup = print\nsetup(backend="jax")')
    about_tf = make_notebook(tmp_path / "02_t.ipynb", 'setup = print\nsetup(backend="tensorflow")')
    seen = {}
    monkeypatch.setattr(runner, "run_notebooks", lambda notebooks, **kw: seen.update(kw, notebooks=notebooks) or [])
    assert runner.main(["--other-backend", str(agnostic), str(about_tf)]) == 1  # nothing ran: not ok
    assert seen["notebooks"] == [agnostic] and seen["backend"] == {agnostic: "tensorflow"}
    with pytest.raises(SystemExit):
        runner.main(["--in-place", "--backend", "jax", str(agnostic)])
    assert "--in-place takes no --backend" in capsys.readouterr().err


def test_pitfall_cells_do_not_fail_the_run(tmp_path):
    nb = make_notebook(
        tmp_path / "01_pitfall.ipynb",
        "from keraslab.pitfalls import pitfall\nwith pitfall(ZeroDivisionError, match='division'):\n    1 / 0",
        "print('went on')",
    )
    (result,) = runner.run_notebooks([nb], out_dir=tmp_path / "out", timeout=120)
    assert result.status == "ok"
    executed = nbformat.read(tmp_path / "out" / "01_pitfall.ipynb", as_version=4)
    shown = executed.cells[1].outputs[0]
    assert shown["output_type"] == "display_data"
    assert shown["data"]["text/plain"] == "ZeroDivisionError: division by zero"
    assert "<!--traceback-->" in shown["data"]["text/html"] and "Traceback" in shown["data"]["text/html"]
    assert executed.cells[2].outputs[0]["text"] == "went on\n"


def test_kernel_stderr_goes_to_a_log_and_its_tail_is_shown_on_failure(tmp_path, capfd):
    nb = make_notebook(
        tmp_path / "01_noisy.ipynb",
        "import os\nos.write(2, b'I0000 00:00:17.5 42 cudart_stub.cc:31] native noise\\n')",
        "raise RuntimeError('boom')",
    )
    (result,) = runner.run_notebooks([nb], out_dir=tmp_path / "out", timeout=120)
    assert result.status == "FAILED"
    log = runner.paths.build_dir() / "notebooks" / "01_noisy.log"
    assert "cudart_stub.cc:31] native noise" in log.read_text()
    out, err = capfd.readouterr()
    assert "native noise" not in out  # not through the progress bar ...
    assert "01_noisy.log" in err and "native noise" in err  # ... but shown with the failure
    assert "Kernel is running over TCP" not in out


@pytest.mark.parametrize("key", sorted(runner.STABLE_ENV))
def test_stable_env_is_applied(key):
    import os

    runner.apply_stable_env()
    assert key in os.environ


def test_in_place_failure_leaves_the_notebook_untouched(tmp_path):
    bad = make_notebook(tmp_path / "01_bad.ipynb", "print('before')", "raise RuntimeError('boom')")
    before = bad.read_bytes()
    (result,) = runner.run_notebooks([bad], in_place=True, timeout=120)
    assert result.status == "FAILED"
    assert bad.read_bytes() == before
    assert (runner.paths.build_dir() / "notebooks" / "01_bad.ipynb").exists()


def test_both_editions_run_and_keep_apart(tmp_path, monkeypatch):
    """make run runs notebooks/ and notebooks/ko/ (EDITION=en|ko|all); a Korean lesson's copy goes to out/ko/."""
    (tmp_path / "notebooks" / "ko").mkdir(parents=True)
    english = make_notebook(tmp_path / "notebooks" / "01_one.ipynb", "print('test accuracy: 0.5000')")
    korean = make_notebook(tmp_path / "notebooks" / "ko" / "01_one.ipynb", "print('테스트 정확도: 0.5000')")
    monkeypatch.setenv("KERASLAB_ROOT", str(tmp_path))
    assert runner.lessons("en") == [english] and runner.lessons("ko") == [korean]
    assert runner.lessons() == [english, korean]
    with pytest.raises(ValueError, match="edition must be one of en, ko or all, got 'fr'"):
        runner.lessons("fr")
    results = runner.run_notebooks(runner.lessons(), out_dir=tmp_path / "out", timeout=120, jobs=2)
    assert [(r.notebook, r.headline) for r in results] == [
        ("01_one.ipynb", "test accuracy = 0.5000"), ("ko/01_one.ipynb", "테스트 정확도 = 0.5000")]
    assert (tmp_path / "out" / "01_one.ipynb").is_file() and (tmp_path / "out" / "ko" / "01_one.ipynb").is_file()
