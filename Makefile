# The two quick-start commands: `make demo` and `make test`. Each builds .venv on first use, from the lock
# file: the exact versions (and hashes) that were tested. `make lock` upgrades it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# The lock holds no index URL: pip and uv use whatever index this machine is configured with.
LOCK_OPTIONS := --extra test --extra otel --python-version 3.11 --generate-hashes --no-emit-index-url \
	--no-emit-find-links --custom-compile-command 'make lock'

.PHONY: demo test test-fast lint lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/yolobatch demo

test: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy
	$(BIN)/pytest -q -ra

# The workflows' decisions with doubled activities on the dev server: no sandbox, no database (seconds).
test-fast: $(STAMP)
	$(BIN)/pytest -q -ra tests/fast

# mypy checks src/ ([tool.mypy] in pyproject.toml); CI runs it through `make test`.
lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/mypy

# Re-resolve every dependency to its newest allowed version (pyproject.toml's ranges); review the diff, run
# `make test`, commit both. To move one package only: `$(BIN)/uv pip compile ... --upgrade-package NAME`.
lock:
	test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml $(LOCK_OPTIONS) --upgrade -o $(LOCK)

clean:
	rm -rf $(VENV) .yolobatch test-output
