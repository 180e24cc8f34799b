# keraslab: `make run` executes every notebook; `make test` runs the whole test suite.
# Both create .venv and install everything on first use (Python 3.11 needed).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# headless Chromium, for the TensorBoard browser test only (make test)
BROWSER_STAMP := $(VENV)/.browser

# Offline data: use ../shared/data when it exists and nothing else was chosen.
ifeq ($(origin KERASLAB_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data/mnist),)
    export KERASLAB_DATA_DIR := $(abspath ../shared/data)
  endif
endif

.PHONY: help install run outputs test test-unit lint tensorboard lab bench distributed-demo clean clean-logs

help:
	@echo "make run          execute every notebook (build/notebooks/), print a results table"
	@echo "make test         the whole suite: unit tests + pytest --nbval over every notebook"
	@echo "make test-unit    unit tests only (fast)"
	@echo "make outputs      re-execute notebooks in place to regenerate stored outputs"
	@echo "make tensorboard  serve logs/ on http://localhost:6006"
	@echo "make lab          start JupyterLab"
	@echo "make lint         ruff over src, tests and notebooks"
	@echo "make bench        fit on TensorFlow vs JAX vs a matmul roofline (benchmarks/results/latest.md)"
	@echo "make distributed-demo  two MultiWorkerMirroredStrategy workers on 127.0.0.1"
	@echo "make clean        remove logs, checkpoints, figures, build"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/install_graphviz.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"keraslab needs Python 3.11, found {sys.version.split()[0]}: set PYTHON=/path/to/python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	bash scripts/install_graphviz.sh
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m keraslab.runner $(NOTEBOOKS)

outputs: $(STAMP)
	$(BIN)/python -m keraslab.runner --in-place $(NOTEBOOKS)

$(BROWSER_STAMP): scripts/install_browser.sh | $(STAMP)
	bash scripts/install_browser.sh
	@touch $(BROWSER_STAMP)

test: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
