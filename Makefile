# sitegen: `make build` builds the sample archive, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOWEST ?= .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed-stamp

.PHONY: build test test-fast test-browser test-compat test-compat-lowest serve bench lint \
	check-site clean

# pip: -qq shows errors only (a machine's pip.conf may list package indexes that lack most
# packages: pip warns once for each package it looks up, a page of warnings for one install)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@# setuptools warns about every editable install of a package with a mapped folder
	@# (the theme): a notice for its own developers, not for this one
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	@touch $(STAMP)

build: $(STAMP)
	$(BIN)/sitegen build

test: $(STAMP)
	$(BIN)/python -m pytest -rs

test-fast: $(STAMP)
	$(BIN)/python -m pytest -rs -m "not slow and not browser"

test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser

# Issue #17: the tests of the fast paths over upstream internals against the stock paths
# (pytest -m compat) at both ends of each range in sitegen/compat.py: the newest versions in
# $(VENV), the lowest (python -m sitegen.compat --lowest) in $(LOWEST).
$(LOWEST_STAMP): pyproject.toml sitegen/compat.py
	@test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m sitegen.compat --lowest > $(LOWEST)/lowest.txt
	PYTHONWARNINGS="ignore:Editable installation" $(LOWEST)/bin/python -m pip install --quiet \
		-e '.[dev]' -r $(LOWEST)/lowest.txt
	@touch $(LOWEST_STAMP)

test-compat: $(STAMP) $(LOWEST_STAMP)
	$(BIN)/python -m pytest -rs -m compat
	$(LOWEST)/bin/python -m pytest -rs -m compat

test-compat-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/python -m pytest -rs -m compat

serve: $(STAMP)
	$(BIN)/sitegen serve

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python tools/bench.py $(if $(BENCH_N),--sizes $(BENCH_N),)

# Issue #6: validators over the sample site and a generated archive (Java, Node, chromium).
check-site: $(STAMP) tools/node_modules/.package-lock.json
	$(BIN)/python tools/check_site.py $(CHECK_SITE_ARGS)

tools/node_modules/.package-lock.json: tools/package.json tools/package-lock.json
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf output .sitegen-cache .output.sitegen
