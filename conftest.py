"""Root pytest configuration, shared by the unit tests and ``pytest --nbval``.

nbval's kernels inherit this process's environment, so setting the stable
environment here makes the notebooks run under the same settings as
``make outputs`` (which wrote the outputs they are compared with).
"""

import pytest

from keraslab.runner import apply_stable_env

apply_stable_env()

collect_ignore_glob = ["build/*", ".venv*/*", "scripts/*", "notebooks/scripts/*", "tests/ipython/*"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``pytest -n 2 --dist loadgroup`` (make test) all cells of one notebook run on one worker, in order:
    nbval runs them in one kernel. Other tests are spread over the workers one by one."""
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(path))
