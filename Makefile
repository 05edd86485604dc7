# rootguard — `make demo` and `make test` work on a fresh machine with only Python and pip.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.rootguard-ready
PYTEST_ARGS ?=

.PHONY: all venv test demo bench sandbox clean

all: test

# A development environment: the pack editable, plus the same rootguard.pth the wheel installs,
# so plain `custodian` and `c7n-org` run from this venv see the pack exactly as after `pip install`.
$(READY): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	cp rootguard.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	touch $@

venv: $(READY)

test: $(READY)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(READY)
	$(BIN)/rootguard demo

sandbox: $(READY)
	$(BIN)/rootguard sandbox --seed sandbox-org

bench: $(READY)
	$(BIN)/python -m rootguard_filters.bench

clean:
	rm -rf $(VENV) build dist *.egg-info demo-out sandbox-org
