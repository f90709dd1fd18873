# One-command entry points. `make setup && make demo`, then `make test`.
# uv comes from PyPI when missing; `python3 -m uv` works even where pip's scripts are off PATH.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
VENV := .venv/bin

.PHONY: setup test lint demo check-setup

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --all-packages --frozen

check-setup:
	@test -x $(VENV)/pytest || { echo "Run 'make setup' first (it creates .venv)." >&2; exit 2; }

lint: check-setup
	$(VENV)/ruff check .

test: lint
	$(VENV)/pytest

demo: check-setup
	@echo "make demo will start the Shoper and Gateway emulators on 127.0.0.1, run"
	@echo "'tap-shoper | target-gateway' over the generated catalog, print the run summary"
	@echo "and where to look at the result. It becomes real with tap-shoper (issue #4)."
