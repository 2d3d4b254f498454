# `make run` installs lmtui into .venv and opens the app; `make test` installs the test tools and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench corpora clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch==2.13.0 is pinned in pyproject.toml: pip takes the CPU build where one is offered locally and never a
# newer multi-GB CUDA build by accident (README: "CPU and GPU builds of torch").
$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# the test tools too (kenlm's query module compiles for about a minute, once)
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.app
	$(BIN)/lmtui

test: $(VENV)/.test
	$(BIN)/ruff check lmtui tests bench corpora
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test
	$(BIN)/python bench/run_all.py

corpora: $(VENV)/.app
	$(BIN)/python corpora/build.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache
