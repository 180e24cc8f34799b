# keraslab: `make run` executes every notebook; `make test` runs the whole test suite.
# Both create .venv and install everything on first use (Python 3.11, 3.12 or 3.13).

# The first of python3.11, python3.12, python3.13 that runs (a pyenv shim of a version not selected does not),
# else python3; or PYTHON=/path/to/python3.x.
PYTHON ?= $(firstword $(foreach v,3.11 3.12 3.13,$(shell p=$$(command -v python$(v) 2>/dev/null) && "$$p" -c pass 2>/dev/null && echo "$$p")) $(shell command -v python3))
# Python 3.13 for the Colab-stack test (Colab's runtime), or COLAB_PYTHON=/path/to/python3.13.
COLAB_PYTHON ?= $(firstword $(shell p=$$(command -v python3.13 2>/dev/null) && "$$p" -c pass 2>/dev/null && echo "$$p") $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13))
# Notebooks run at once by make run / make outputs / make test (one per core).
JOBS   ?= 2
# Which edition make run / make outputs execute: en (notebooks/), ko (notebooks/ko/, 한국어판) or all.
EDITION ?= all
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
# headless Chromium, for the TensorBoard browser test only (make test)
BROWSER_STAMP := $(VENV)/.browser

# Offline data: use ../shared/data when it exists and nothing else was chosen.
ifeq ($(origin KERASLAB_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data/mnist),)
    export KERASLAB_DATA_DIR := $(abspath ../shared/data)
  endif
endif

.PHONY: help install colab-env run outputs translations test test-unit lint tensorboard lab bench distributed-demo clean clean-logs

help:
	@echo "make run          execute every notebook (build/notebooks/), print a results table"
	@echo "make test         the whole suite: unit tests + pytest --nbval over every notebook"
	@echo "make test-unit    unit tests only (fast)"
	@echo "make colab-env    .venv-colab: Colab's versions (requirements-colab.txt) on Python 3.13, for the Colab-stack test"
	@echo "make outputs      re-execute notebooks in place to regenerate stored outputs"
	@echo "                  (run/outputs: EDITION=en or EDITION=ko for one edition, NOTEBOOKS=... for some lessons)"
	@echo "make translations compile the Korean message catalogs (src/keraslab/locale/*/LC_MESSAGES/*.po -> .mo)"
	@echo "make tensorboard  serve logs/ on http://localhost:6006"
	@echo "make lab          start JupyterLab"
	@echo "make lint         ruff over src, tests and notebooks"
	@echo "make bench        fit on TensorFlow vs JAX vs a matmul roofline (benchmarks/results/latest.md)"
	@echo "make distributed-demo  two MultiWorkerMirroredStrategy workers on 127.0.0.1"
	@echo "make clean        remove logs, checkpoints, figures, build"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/install_graphviz.sh
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), f"keraslab needs Python 3.11, 3.12 or 3.13, found {sys.version.split()[0]}: set PYTHON=/path/to/python3.x"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	bash scripts/install_graphviz.sh
	@touch $(STAMP)

# Colab's stack, rebuilt from scratch whenever requirements-colab.txt or pyproject.toml changes:
# Colab's versions first, then the course the way the README tells a Colab learner (pip install -e .).
colab-env: $(COLAB_STAMP)

$(COLAB_STAMP): requirements-colab.txt pyproject.toml
	@test -n "$(COLAB_PYTHON)" || { echo "The Colab-stack test needs Python 3.13 (Colab's): none found. Install it (e.g. pyenv install 3.13) or set COLAB_PYTHON=/path/to/python3.13." >&2; exit 1; }
	@$(COLAB_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 13), f"COLAB_PYTHON must be Python 3.13 (Colab), found {sys.version.split()[0]}"'
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q -r requirements-colab.txt
	$(COLAB_VENV)/bin/python -m pip install -q -e .
	$(COLAB_VENV)/bin/python -m pip freeze > $(COLAB_VENV)/freeze.txt
	@touch $(COLAB_STAMP)

run: $(STAMP)
	$(BIN)/python -m keraslab.runner --jobs $(JOBS) --edition $(EDITION) $(NOTEBOOKS)

outputs: $(STAMP)
	$(BIN)/python -m keraslab.runner --jobs $(JOBS) --edition $(EDITION) --in-place $(NOTEBOOKS)

# gettext: the .po files are the text, the .mo files what Python's gettext reads (tests/test_translations.py
# fails when a .mo is older than its .po or a message has no translation).
translations: $(STAMP)
	for po in src/keraslab/locale/*/LC_MESSAGES/*.po; do $(BIN)/pybabel -q compile -i "$$po" -o "$${po%.po}.mo" || exit 1; done

$(BROWSER_STAMP): scripts/install_browser.sh | $(STAMP)
	bash scripts/install_browser.sh
	@touch $(BROWSER_STAMP)

# Two pytest workers, one file at a time each: a notebook's cells run in order on one worker, in one kernel.
test: $(STAMP) $(BROWSER_STAMP) $(COLAB_STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-unit: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks benchmarks conftest.py

tensorboard: $(STAMP)
	$(BIN)/tensorboard --logdir=logs --host=localhost --port=6006

lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

distributed-demo: $(STAMP)
	$(BIN)/python -m keraslab.jobs --workers 2 -- --epochs 6 --run two-workers --fresh

clean-logs:
	find logs -mindepth 1 ! -name README.md -exec rm -rf {} +

clean: clean-logs
	find checkpoints -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf build figures notebooks/figures
