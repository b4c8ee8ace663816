# admon: two commands matter.
#   make demo   build the synthetic demo region, run the annual survey, publish
#   make test   run the whole test suite (installs what it needs, PostGIS and chromium included)
# Everything else here serves those two.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-admon
WORKSPACE ?= workspace

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export DO_NOT_TRACK := 1

.PHONY: demo install test bench lint system-deps clean help

help:
	@echo "make demo    run the annual survey on the built-in synthetic demo region"
	@echo "make install install admon into .venv (then: source .venv/bin/activate)"
	@echo "make test    run the test suite (sets up .venv, PostGIS and chromium as needed)"
	@echo "make bench   run the benchmarks in tests/benchmarks/"
	@echo "make lint    ruff check"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's dependencies change. uv is much faster than pip
# on these machines; pip stays as the fallback. --compile-bytecode: uv writes no
# .pyc files by default, and where PYTHONDONTWRITEBYTECODE is set every process
# (each command, the temporary Prefect server) would compile Prefect, dask and
# scikit-learn from source on every start; admon's own packages (an editable
# install) are compiled here for the same reason.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]' \
	  || $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m compileall -q core geo synthetic models maps web flows > /dev/null
	touch $@

install: $(STAMP)
	@echo "admon is installed in $(VENV): run 'source $(BIN)/activate' to put it on your PATH"

demo: $(STAMP)
	$(BIN)/admon demo --workspace $(WORKSPACE)

system-deps:
	@bash scripts/system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pytest tests/benchmarks -m benchmark -p no:cacheprovider -s

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
