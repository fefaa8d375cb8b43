# Two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
# PYTHON: the interpreter .venv is made from (and pinned to: .venv/bin/python links to its real path,
# so a pyenv shim is resolved once). For a service user (docs/operations.md) it must be one that
# user can execute, e.g. PYTHON=/usr/bin/python3, not one under /root; `make setup` checks.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# EXTRAS: optional extras `make setup`/`make run` install beside what the job needs, e.g.
# `make setup EXTRAS=s3,delta` for a night on a bucket (README "Running on Spark", output section).
EXTRAS ?=
comma  := ,
# One stamp per set of extras: `make run` installs the job alone (a newcomer's first command does not
# download pyspark or the test tools); `make test` adds the test extra to the same .venv.
SPEC   := .$(if $(EXTRAS),[$(EXTRAS)])
STAMP  := $(VENV)/.installed-run$(if $(EXTRAS),-$(subst $(comma),-,$(EXTRAS)))
TSTAMP := $(VENV)/.installed-test

.PHONY: run test setup check-python bench eval clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '$(SPEC)'
	@$(MAKE) --no-print-directory check-python
	touch $(STAMP)

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@$(MAKE) --no-print-directory check-python
	touch $(TSTAMP)

# As root: can another user (nobody) start .venv/bin/python? Not when it runs an interpreter under a
# private folder such as pyenv's in /root; the nightly job as User=dedup would exit 126 at once.
check-python:
	@real="$$(readlink -f $(BIN)/python)"; \
	if [ "$$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then \
	  echo "make: .venv runs $$real (not checked for other users: needs root and setpriv)"; \
	elif setpriv --reuid=nobody --regid="$$(id -g nobody)" --clear-groups -- /usr/bin/env "$(abspath $(BIN))/python" -c pass 2>/dev/null; then \
	  echo "make: .venv runs $$real, which other users can execute"; \
	else \
	  echo "make: warning: other users cannot run $(abspath $(BIN))/python (it runs $$real): a service user such as User=dedup cannot start dedup; make clean setup PYTHON=/usr/bin/python3 (an interpreter outside /root)" >&2; \
	fi

run: $(STAMP)
	$(BIN)/dedup run --config configs/demo.yaml

test: $(TSTAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf out $(VENV)
