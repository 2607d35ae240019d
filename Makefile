# The two commands: `make demo` and `make test` (each installs what it needs first).
PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=

.PHONY: setup test demo serve lint bench lock

setup:
	bash scripts/setup.sh

test:
	bash scripts/setup.sh --test
	bash scripts/test.sh $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/tingyin demo

serve: setup
	$(VENV)/bin/tingyin serve

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python bench/sip_capacity.py

# Re-resolve requirements.lock from pyproject.toml (runtime + [test]) in a throwaway venv.
lock:
	set -eu; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'; \
	{ echo '# Every Python package Tingyin and its tests use, pinned (one file, test tools included).'; \
	  echo '# Generated from pyproject.toml by `make lock`: a fresh venv, pip install -e ".[test]",'; \
	  echo '# pip freeze --exclude-editable. Do not edit by hand; change pyproject.toml and re-run.'; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; \
	} > requirements.lock.tmp; \
	mv requirements.lock.tmp requirements.lock
	@echo "requirements.lock updated"
