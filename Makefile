# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AREA ?= data/jakarta

.PHONY: demo test lint format install build serve bench readme-figures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/geoapp demo

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The checks CI runs before the tests: lint, formatting, types.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

build: install
	$(BIN)/geoapp build $(AREA)

# Recompute the README's sample figures from a build of data/jakarta.
readme-figures: install
	$(BIN)/python scripts/readme_figures.py

bench: install
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(AREA)/build instance
