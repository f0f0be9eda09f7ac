# Two entry points for a fresh machine: `make run` and `make test`.
# Each installs what is missing (.venv, Python packages, Debian packages) first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEB_PKGS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils \
            postgresql postgresql-client chromium

.PHONY: run test lint validate bench deb clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian libraries WeasyPrint needs, pdftoppm for the report tests, PostgreSQL for the
# service storage tests (a throw-away cluster per test session), and chromium for the
# browser tests (Playwright drives /usr/bin/chromium; never `playwright install`).
deb:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The main job: the web service on http://127.0.0.1:8000 (SQLite in ./var/cyclodose.db).
run: $(STAMP) deb
	$(BIN)/cyclodose serve

test: $(STAMP) deb
	$(BIN)/ruff check src tests benchmarks validation
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n 2 --dist loadgroup --cov=cyclodose --cov-report=term:skip-covered

validate: $(STAMP) deb
	$(BIN)/python -m validation docs/validation.md

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
