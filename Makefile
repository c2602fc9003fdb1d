# sitegen: `make build` builds the sample archive, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: build test test-fast test-browser serve bench lint check-site clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

build: $(STAMP)
	$(BIN)/sitegen build

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser

serve: $(STAMP)
	$(BIN)/sitegen serve

bench: $(STAMP)
	$(BIN)/python tools/bench.py $(if $(BENCH_N),--sizes $(BENCH_N),)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf output .sitegen-cache .output.staging
