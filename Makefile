# TMIS developer tasks. `make demo` starts the local stack and runs the demo; `make test` is
# what CI runs (.ci/run). Everything runs from the repo's own virtualenv.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The editable install maps top-level packages when it is made: reinstall when one appears.
PACKAGES   := $(wildcard shared/__init__.py services/__init__.py tmis_cli/__init__.py deploy/__init__.py simulator/__init__.py)
MYPY_PATHS := $(wildcard shared services tmis_cli deploy simulator)

.PHONY: venv constraints browser-deps demo up down status test lint bench screenshots faults

venv: $(STAMP)

# constraints.txt pins every dependency (the linters too) to what a fresh venv got; `make
# constraints` regenerates it in a throwaway venv after pyproject.toml changes.
$(STAMP): pyproject.toml constraints.txt $(PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make venv: '$(PYTHON) -m venv' failed: install Debian's python3.11-venv" \
	       "(apt-get install python3.11-venv) and run make venv again" >&2; exit 1; }
	$(BIN)/pip install -c constraints.txt -e '.[dev]'
	touch $@

constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install -q -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; \
	  .constraints-venv/bin/pip freeze --exclude-editable | grep -v '^#'; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf .constraints-venv

demo: venv
	$(BIN)/tmis up --fresh
	$(BIN)/tmis demo $(DEMO_ARGS)

up: venv
	$(BIN)/tmis up

down: venv
	$(BIN)/tmis down

status: venv
	$(BIN)/tmis status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_PATHS)

# Unit + integration share one session (one throwaway Kafka and PostgreSQL); the end-to-end
# journeys get a session and a stack of their own, so a whole simulated province on the topics
# does not slow down every fresh consumer group of the integration tests. The fault suite kills
# and restarts its own broker and PostgreSQL, so it has a stack of its own too. The browser tests
# (chromium through the web front) likewise start a stack of their own.
test: lint browser-deps
	$(BIN)/pytest -q tests/unit tests/integration
	if [ -d tests/e2e ]; then $(BIN)/pytest -q tests/e2e; fi
	$(BIN)/pytest -q tests/faults
	if [ -d tests/browser ]; then $(BIN)/pytest -q tests/browser; fi

# What the browser tests need, from Debian: chromium and its driver, its Chinese language pack
# (its own controls in Chinese) and CJK fonts (Chinese text as glyphs, not boxes); and the
# HanaMin fonts the confirmation PDFs embed (rare characters of names, Extension A-F). Installed
# with apt-get when one of them is missing (TMIS_CHROMIUM names a chromium of your own): as
# root, else through sudo, else a message saying what to install. A skipped browser test fails
# the run (TMIS_ALLOW_BROWSER_SKIP=1 allows it).
BROWSER_DEBS := chromium chromium-driver chromium-l10n fonts-noto-cjk fonts-hanazono
CHROMIUM     ?= $(or $(TMIS_CHROMIUM),/usr/bin/chromium)

browser-deps:
	@if [ -n "$(TMIS_CHROMIUM)" ] && [ -x "$(TMIS_CHROMIUM)" ]; then exit 0; fi; \
	if dpkg-query -W -f='$${Status}\n' $(BROWSER_DEBS) 2>/dev/null | grep -c "ok installed" \
	  | grep -qx "$(words $(BROWSER_DEBS))"; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "make browser-deps: no chromium at $(CHROMIUM) and no root or sudo to install it;" \
	  "install Debian's $(BROWSER_DEBS) (apt-get install $(BROWSER_DEBS)), or set" \
	  "TMIS_CHROMIUM to a chromium" >&2; exit 1; fi; \
	echo "make browser-deps: installing $(BROWSER_DEBS)"; \
	$$SUDO apt-get update && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $(BROWSER_DEBS) \
	|| { echo "make browser-deps: apt-get failed; install $(BROWSER_DEBS) by hand" >&2; exit 1; }

# The browser tests again, saving their page screenshots over docs/screenshots/.
screenshots: venv
	TMIS_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

bench: venv
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

faults: venv
	$(BIN)/pytest -q tests/faults
