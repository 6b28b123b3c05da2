# AuditLoop: `make run` serves on http://127.0.0.1:5000, `make test` runs every test. All targets are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install run demo test check bench bench-smoke clean

$(STAMP): setup.cfg pyproject.toml $(wildcard package.json package-lock.json)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	if [ -f package.json ]; then npm ci --no-audit --no-fund && $(BIN)/python -m webui.vendor; fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/auditloop db upgrade
	$(BIN)/auditloop serve

# The demo organisation, topics and cases on the default database (refuses a database that has an organisation).
demo: install
	$(BIN)/auditloop demo

# PostgreSQL tests run when a server answers at PG_URL (CI sets it); otherwise they are skipped and say so.
test: install
	@if [ -z "$$AUDITLOOP_TEST_POSTGRES_URL" ] && $(BIN)/python -c "import sqlalchemy as sa; sa.create_engine('$(PG_URL)').connect().close()" 2>/dev/null; then \
		echo "PostgreSQL found at $(PG_URL): PostgreSQL tests enabled"; \
		AUDITLOOP_TEST_POSTGRES_URL='$(PG_URL)' $(BIN)/pytest -q; \
	else \
		[ -n "$$AUDITLOOP_TEST_POSTGRES_URL" ] || echo "No PostgreSQL at $(PG_URL): PostgreSQL tests will be skipped"; \
		$(BIN)/pytest -q; \
	fi

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench.run

bench-smoke: install
	$(BIN)/python -m bench.run --smoke

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
