# `make run` installs lmtui into .venv and opens the app; `make test` installs the test tools and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench corpora clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# pyproject.toml allows a range of torch; constraints.txt pins the tested one (2.13.0), so pip here takes the
# CPU build offered locally and never a newer multi-GB CUDA build by accident (README: "CPU and GPU builds").
PIP_INSTALL := $(BIN)/python -m pip install -q -c constraints.txt

$(VENV)/.app: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

# the test tools too (kenlm's query module compiles for about a minute, once)
$(VENV)/.test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[test]'
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
