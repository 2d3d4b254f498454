# `make run` installs lmtui into .venv and opens the app; `make test` installs the test tools and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

# torch, installed first and alone (README: "CPU and GPU builds of torch"): by default the tested version's
# CPU build (constraints.txt), with PyTorch's CPU index as an extra index for torch only (--no-deps: its
# dependencies come from PyPI with lmtui's; --retries 1: a machine that cannot reach the index, like this
# project's, which has the CPU wheel locally, loses a second there instead of a minute of retries).
# A CUDA build instead: make TORCH=torch==2.13.0+cu128 TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH ?= -c constraints.txt torch
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: run test bench corpora clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip >= 25.1 installs PEP 735 dependency groups (--group); a stamp, so that a .venv made before gets it too
$(VENV)/.pip: | $(BIN)/python
	$(PIP) install -q --upgrade 'pip>=25.1'
	touch $@

$(VENV)/.torch: constraints.txt | $(VENV)/.pip
	$(PIP) install -q --no-deps --retries 1 --extra-index-url $(TORCH_INDEX) $(TORCH)
	touch $@

# lmtui keeps the torch installed above (pyproject's range); .test is .app plus the test tools, so it marks
# .app done too (`make run` after `make test` installs nothing).
$(VENV)/.app: pyproject.toml $(VENV)/.torch
	$(PIP) install -q -e .
	touch $@

# the test tools too (kenlm's query module compiles for about a minute, once)
$(VENV)/.test: pyproject.toml $(VENV)/.torch
	$(PIP) install -q -e . --group test
	touch $@ $(VENV)/.app

run: $(VENV)/.app
	$(BIN)/lmtui

test: $(VENV)/.test
	$(BIN)/ruff check lmtui tests bench corpora
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test
	$(BIN)/python bench/run_all.py

corpora: $(VENV)/.app
	$(BIN)/python corpora/build.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache .mypy_cache
