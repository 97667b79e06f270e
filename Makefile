# TMIS developer tasks. `make demo` starts the local stack and runs the demo; `make test` is
# what CI runs (.ci/run). Everything runs from the repo's own virtualenv.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The editable install maps top-level packages when it is made: reinstall when one appears.
PACKAGES   := $(wildcard shared/__init__.py services/__init__.py tmis_cli/__init__.py deploy/__init__.py simulator/__init__.py)
MYPY_PATHS := $(wildcard shared services tmis_cli deploy simulator)

.PHONY: venv demo up down status test lint bench

venv: $(STAMP)

$(STAMP): pyproject.toml $(PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/tmis up --fresh
	$(BIN)/tmis demo

up: venv
	$(BIN)/tmis up

down: venv
	$(BIN)/tmis down

status: venv
	$(BIN)/tmis status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_PATHS)

test: lint
	$(BIN)/pytest -q tests

bench: venv
	$(BIN)/python -m bench
