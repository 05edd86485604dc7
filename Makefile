# rootguard — `make demo` and `make test` work on a fresh machine with only Python and pip.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.rootguard-ready
PYTEST_ARGS ?=

.PHONY: all help venv test prove demo bench sandbox clean

all: test

help:           ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## /  make \1\t/' | expand -t 16

# A development environment: the pack editable, plus the same rootguard.pth the wheel installs,
# so plain `custodian` and `c7n-org` run from this venv see the pack exactly as after `pip install`.
$(READY): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	cp rootguard.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	touch $@

venv: $(READY)  ## create .venv: the pack editable with its test extra (moto included)

test: $(READY)  ## run the whole test suite (PYTEST_ARGS=tests/unit for a part)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

prove: $(READY)  ## the proof tests against the SMT oracle at 100,000 cases per family (CI runs 2,000)
	ROOTGUARD_PROOF_PROFILE=prove $(BIN)/python -m pytest tests/proofs $(PYTEST_ARGS)

demo: $(READY)  ## sandbox organization + the whole pack with c7n-org + the checklist (demo-out/)
	$(BIN)/rootguard demo

sandbox: $(READY)  ## serve the seeded sandbox organization on 127.0.0.1 until Ctrl-C (sandbox-org/)
	$(BIN)/rootguard sandbox --seed sandbox-org

bench: $(READY)  ## API calls, wall/CPU time, worker memory against Custodian built-ins (BENCH_ARGS="--sizes 10,100,1000 --update-results")
	$(BIN)/python -m rootguard_filters.bench $(BENCH_ARGS)

clean:  ## remove .venv, build output, demo-out/ and sandbox-org/
	rm -rf $(VENV) build dist *.egg-info demo-out sandbox-org
