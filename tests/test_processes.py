"""The one helper that runs child programs, reads their JSON results and kills one at a marker."""

import signal
import sys

import pytest

from keraslab import processes, results

COUNTER = """
import sys, time
from keraslab.results import write_result
for i in range(1, int(sys.argv[1]) + 1):
    write_result({"last_step": i})  # reported before it is printed, as a worker saves before it says so
    print(f"step {i}", flush=True)
    time.sleep(0.05)
print("done")
"""


def counter(n):
    return [sys.executable, "-c", COUNTER, str(n)]


def test_a_child_reports_through_its_result_file_not_its_lines():
    child = processes.run_child(counter(3))
    print("lines:", child.lines, "| result:", child.result)
    assert child.ok and child.lines == ["step 1", "step 2", "step 3", "done"]
    assert child.result == {"last_step": 3}


def test_a_child_is_killed_after_its_marker():
    child = processes.run_child(counter(200), kill_at="step 2")
    print("killed:", child.killed, "| return code:", child.returncode, "| last line:", child.lines[-1])
    assert child.killed and child.returncode == -signal.SIGKILL
    assert child.result["last_step"] >= 2 and "done" not in child.lines


def test_kill_waits_for_a_condition_over_every_child():
    both = processes.run_children(
        [counter(3), counter(200)],
        kill=(1, lambda lines: "done" in lines[0]),  # child 1 dies once child 0 finished
    )
    print("killed:", both.killed, "| return codes:", [c.returncode for c in both.children])
    assert both.killed == 1 and both.children[0].ok and both.children[1].returncode == -signal.SIGKILL
    assert not both.ok


def test_a_timeout_kills_and_says_so():
    with pytest.raises(TimeoutError, match="did not finish within 1 s"):
        processes.run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)


def test_without_a_parent_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(results.RESULT_FILE_ENV, raising=False)
    assert results.write_result({"a": 1}) is None
    monkeypatch.setenv(results.RESULT_FILE_ENV, str(tmp_path / "r.json"))
    results.write_result({"backend": "jax"})
    results.write_result({"epochs": 3})  # merged into the same file
    print(results.read_result(tmp_path / "r.json"))
    assert results.read_result(tmp_path / "r.json") == {"backend": "jax", "epochs": 3}


def test_a_child_never_writes_to_the_file_its_parent_reports_to(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULT_FILE_ENV, str(tmp_path / "kernel.json"))  # as under make run
    child = processes.run_child(counter(2))
    print("child:", child.result, "| parent's file exists:", (tmp_path / "kernel.json").exists())
    assert child.result == {"last_step": 2} and not (tmp_path / "kernel.json").exists()
