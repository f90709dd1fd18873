# One-command entry points. `make setup && make demo`, then `make test`.
# uv comes from PyPI when missing; `python3 -m uv` works even where pip's scripts are off PATH.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
VENV := .venv/bin

.PHONY: setup test lint typecheck demo check-setup

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --all-packages --frozen

check-setup:
	@test -x $(VENV)/pytest || { echo "Run 'make setup' first (it creates .venv)." >&2; exit 2; }

lint: check-setup
	$(VENV)/ruff check .

# mypy over every package's source (the paths are in pyproject.toml's [tool.mypy])
typecheck: check-setup
	$(VENV)/mypy

test: lint typecheck
	$(VENV)/pytest

demo: check-setup
	@bash scripts/demo.sh

# Build every tap-*/Dockerfile and run each image against the emulators (scripts/docker-test.sh);
# starts a local Docker engine when none is reachable, and fails (exit 3) when none can be had.
.PHONY: docker-test
docker-test: check-setup
	bash scripts/docker-test.sh

# Benchmarks of issue #7 (bench/run.py): prints figures, asserts nothing; tens of minutes at 10,000
# products (Shoper's rate limit of 2 calls/s). `make bench BENCH_ARGS=--quick` for a smoke run.
.PHONY: bench
BENCH_ARGS ?= --sizes 1000,10000 --latency 0.05 --platforms shoper
bench: check-setup
	$(VENV)/python bench/run.py $(BENCH_ARGS)

# Meltano (issue #6): Meltano itself in its own virtualenv (it pins its own dependencies); the
# plugins are installed by `meltano install` from this repository's directories.
.PHONY: meltano-setup emulators emulators-stop meltano-test
meltano-setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	test -x .venv-meltano/bin/meltano || $(UV) venv --quiet --python python3 .venv-meltano
	$(UV) pip install --quiet --python .venv-meltano/bin/python "meltano[s3]~=4.4.1"

# The emulators Meltano's `dev` environment points at, on fixed ports (scripts/emulators.sh).
emulators: check-setup
	@bash scripts/emulators.sh start

emulators-stop:
	@bash scripts/emulators.sh stop

# The slow end-to-end checks CI runs after `make test`: the README's "Run it with Meltano" and
# "A shell pipeline" commands against the fixed-port emulators, `make demo` twice over
# (tests/meltano), and every tap's pipeline under injected faults (tests/test_faults*.py).
meltano-test: check-setup
	$(VENV)/pytest -m "meltano or slow" tests/meltano tests/test_faults.py tests/test_faults_every_tap.py

# constraints.txt: uv.lock's run-time pins for plain pip (the Docker images install with it).
UV_EXPORT = $(VENV)/uv export --frozen --no-dev --all-packages --no-emit-workspace --no-hashes --no-annotate --quiet
.PHONY: constraints
constraints: check-setup
	$(UV_EXPORT) -o constraints.txt
