# revolving-door: `make demo` runs the embedded default, `make test` the tests, `make lint` ruff + mypy.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python demo/make_calendars.py
	$(BIN)/revolving-door --config settings.toml partners import demo/partners.csv
	$(BIN)/revolving-door --config settings.toml sync --once
	COLUMNS=$${COLUMNS:-140} $(BIN)/revolving-door --config settings.toml collisions list
	@echo "Alerts written:"; ls -1 outbox/*.eml 2>/dev/null | sed 's/^/  /' || echo "  (none)"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/matching.py --events 200000
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/sync_cost.py --provider google --calendars 500
	$(BIN)/python bench/sync_cost.py --provider microsoft --calendars 500

clean:
	rm -rf $(VENV) outbox state.db state.db-wal state.db-shm demo/calendars .pytest_cache .mypy_cache .ruff_cache
