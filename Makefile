# Two commands do everything on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system run test typecheck bench image lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

system:
	scripts/system-setup.sh

image: setup system
	scripts/with-docker.sh $(BIN)/dgm sandbox build

run: setup system
	scripts/with-docker.sh scripts/main-job.sh

test: setup system typecheck
	scripts/with-docker.sh sh -c '$(BIN)/dgm sandbox build && $(BIN)/dgm sandbox build --image polyglot && $(BIN)/pytest $(PYTEST_ARGS)'

typecheck: setup
	BIN=$(BIN) scripts/typecheck.sh

bench: setup system
	scripts/with-docker.sh sh -c '$(BIN)/dgm sandbox build && $(BIN)/dgm sandbox build --image polyglot && for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done'

lock:
	uv pip compile -q pyproject.toml --extra dev --extra local --override lock-overrides.txt --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
