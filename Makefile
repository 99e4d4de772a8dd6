# smefin — two commands: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format bench migrate demo clean

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

test: $(STAMP) ## set up and run the whole suite (SMEFIN_TEST_DATABASE_URL selects PostgreSQL)
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services shared

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## measure, print the table and write var/bench/results.json
	$(BIN)/smefin bench

clean: ## remove the virtualenv, databases, models and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
