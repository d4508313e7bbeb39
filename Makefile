# Everything a fresh clone needs: `make test` builds .venv and runs the checks and the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/balance-exporter --demo

test: lint typecheck unit

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python -m bench.scrape
	$(BIN)/python -m bench.hung_provider
	$(BIN)/python -m bench.auth_timing
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.redaction
	$(BIN)/python -m bench.landing

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
