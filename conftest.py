"""Root pytest configuration, shared by the unit tests and ``pytest --nbval``.

nbval's kernels inherit this process's environment, so setting the stable
environment here makes the notebooks run under the same settings as
``make outputs`` (which wrote the outputs they are compared with).
"""

import os
from pathlib import Path

import pytest

from keraslab.runner import apply_stable_env

apply_stable_env()

collect_ignore_glob = [
    "build/*", ".venv*/*", "scripts/*", "notebooks/scripts/*", "notebooks/ko/scripts/*", "tests/ipython/*"
]


#: The Keras backend this session started with (none under make test). A test that picks one in-process
#: (setup(), or importing lesson 06's script, which defaults to JAX) must not hand it to the kernels and worker
#: processes of the tests after it: it is put back before every test and every notebook cell.
_KERAS_BACKEND = os.environ.get("KERAS_BACKEND")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    from keraslab import i18n

    i18n.set_language("en")  # a test that switched to Korean never leaks into the next one
    if _KERAS_BACKEND is None:
        os.environ.pop("KERAS_BACKEND", None)
    else:
        os.environ["KERAS_BACKEND"] = _KERAS_BACKEND


#: The longest test files, longest first (seconds on the 2-core CI machine, 2026-12-06). make test runs
#: `pytest -n 2 --dist loadfile --no-loadscope-reorder`: each file goes to one worker in collection order, so these
#: start first and the short files fill in around them (longest-first keeps one worker from finishing alone).
LONGEST_FIRST = [
    "tests/test_colab_stack.py",  # ~1,175 s
    "tests/test_other_backend.py",  # ~550 s
    "notebooks/03_fashion_mnist_dropout_early_stopping.ipynb",
    "notebooks/ko/03_fashion_mnist_dropout_early_stopping.ipynb",
    "notebooks/05_custom_training_loop.ipynb",
    "notebooks/ko/05_custom_training_loop.ipynb",
    "notebooks/02_mnist_callbacks.ipynb",
    "notebooks/ko/02_mnist_callbacks.ipynb",
    "notebooks/07_distributed_training.ipynb",
    "notebooks/ko/07_distributed_training.ipynb",
    "tests/test_resume.py",
    "tests/test_run_folder.py",
]


def pytest_collection_modifyitems(config, items):
    """Longest files first (stable: every worker collects the same order; a file's own order is kept)."""
    root = Path(config.rootpath)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(pair):
        index, item = pair
        name = Path(item.path).resolve().relative_to(root).as_posix() if Path(item.path).is_relative_to(root) else ""
        return (rank.get(name, len(rank)), index)

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]
