# rootguard — `make demo` and `make test` work on a fresh machine with only Python and pip.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.rootguard-ready
PYTEST_ARGS ?=

.PHONY: all help venv test prove mutation demo bench sandbox clean

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

prove: $(READY)  ## the SMT oracles at 100,000 cases per family (tests/proofs; CI runs 2,000)
	ROOTGUARD_PROOF_PROFILE=prove $(BIN)/python -m pytest -q tests/proofs $(PYTEST_ARGS)

# mutmut must not see the pack imported at interpreter start (rootguard.pth): it runs from a venv that
# reads this one's site-packages through a plain path entry, so its mutants/ copy is what tests import.
mutation: $(READY)  ## mutation check of the pattern, SCP and alarm decisions (pyproject [tool.mutmut]; slow)
	$(PYTHON) -m venv $(VENV)-mutation
	$(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > \
	  "$$($(VENV)-mutation/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/rootguard-deps.pth"
	ROOTGUARD_PROOF_PROFILE=mutation $(VENV)-mutation/bin/python -m mutmut run --max-children 2
	$(VENV)-mutation/bin/python -m mutmut results

demo: $(READY)  ## sandbox organization + the whole pack with c7n-org + the checklist (demo-out/)
	$(BIN)/rootguard demo

sandbox: $(READY)  ## serve the seeded sandbox organization on 127.0.0.1 until Ctrl-C (sandbox-org/)
	$(BIN)/rootguard sandbox --seed sandbox-org

bench: $(READY)  ## API calls, wall/CPU time, worker memory against Custodian built-ins (BENCH_ARGS="--sizes 10,100,1000 --update-results")
	$(BIN)/python -m bench.org_run $(BENCH_ARGS)

clean:  ## remove .venv, build output, demo-out/ and sandbox-org/
	rm -rf $(VENV) $(VENV)-mutation mutants build dist *.egg-info demo-out sandbox-org
