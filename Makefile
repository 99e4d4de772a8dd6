# smefin — two commands: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help run test chromium test-fast lint format bench migrate demo clean check-deploy audit

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP) ## set up, migrate, load demo data and start all three services
	$(BIN)/smefin run

migrate: $(STAMP) ## apply every service's database migrations
	$(BIN)/smefin migrate

demo: $(STAMP) ## load demo data into running services
	$(BIN)/smefin demo

test: $(STAMP) chromium ## set up and run the whole suite (SMEFIN_TEST_DATABASE_URL selects PostgreSQL)
	$(BIN)/pytest -q -p no:cacheprovider

chromium: ## Debian's chromium for the console's browser tests (skipped there when it cannot be had)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed: the browser tests will be skipped"

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services shared

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## measure, print the table and write var/bench/results.json
	$(BIN)/smefin bench

check-deploy: $(STAMP) ## render every kustomize overlay, validate it offline; check Dockerfile and compose
	$(BIN)/pytest -q -p no:cacheprovider tests/deploy

AUDIT_VENV := var/audit-venv
audit: ## pip-audit the pinned tree (needs PyPI's per-version vulnerability data; fails if unreachable)
	@test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/pip install --quiet -c deploy/audit-constraints.txt pip-audit; }
	@# --strict: a package the vulnerability service cannot look up fails the audit instead of
	@# being skipped, so an unreachable database never reads as "no known vulnerabilities".
	@$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r constraints.txt || { echo "make audit: FAILED - a vulnerability was found, or the \
	vulnerability database (PyPI JSON API per version, or OSV with -s osv) could not be reached, \
	so nothing was audited" >&2; exit 1; }

clean: ## remove the virtualenv, databases, models and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
