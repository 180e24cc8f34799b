"""Root pytest configuration, shared by the unit tests and ``pytest --nbval``.

nbval's kernels inherit this process's environment, so setting the stable
environment here makes the notebooks run under the same settings as
``make outputs`` (which wrote the outputs they are compared with).
"""

import os

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
