"""Root pytest configuration, shared by the unit tests and ``pytest --nbval``.

nbval's kernels inherit this process's environment, so setting the stable
environment here makes the notebooks run under the same settings as
``make outputs`` (which wrote the outputs they are compared with).
"""

from keraslab.runner import apply_stable_env

apply_stable_env()

collect_ignore_glob = ["build/*", ".venv/*", "scripts/*", "tests/ipython/*"]
