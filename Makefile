# Two entry points for a fresh machine: `make serve` and `make test`. Both set up .venv from
# the pinned constraints first, so what runs is what CI tested.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Each xdist worker has its own SQLite file and PostgreSQL database; process-starting (e2e)
# tests share one worker (loadgroup). PYTEST_XDIST= runs everything in one process.
PYTEST_XDIST ?= -n auto --dist loadgroup
FAST_TESTS := -m "not postgres and not e2e and not slow"

.PHONY: setup browser serve test test-fast test-e2e lint fmt typecheck fake-jira fake-servicenow bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The console's browser test drives Debian's chromium (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

serve: setup
	$(VENV)/bin/ticketbridge serve

fake-jira: setup
	$(VENV)/bin/ticketbridge fake-jira --seed 1000

fake-servicenow: setup
	$(VENV)/bin/ticketbridge fake-servicenow --seed 300 --tls

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

fmt: setup
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

typecheck: setup
	$(VENV)/bin/mypy

# The whole suite, SQLite and PostgreSQL halves, after lint and types.
test: lint typecheck browser
	$(VENV)/bin/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The inner loop: SQLite unit and API tests, no PostgreSQL, no processes, nothing slow.
test-fast: setup
	$(VENV)/bin/pytest $(PYTEST_XDIST) $(FAST_TESTS) $(PYTEST_ARGS)

test-e2e: setup browser
	$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

bench: setup
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
