# Gongzhi: the two commands. Both set themselves up on a fresh machine
# (Python 3.11, make and git), creating .venv and installing from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The demo: SQLite and a filesystem broker under var/, web + Celery worker + beat.
run: export DEBUG ?= true
# The Procfile's commands (python, celery) must come from the project's venv.
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Links in the demo's SMS (printed by the worker) point at this server. honcho hands the
# web process its --port as PORT (its own default is 5000): the banner's address.
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(or $(PORT),8000)
run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py demo_banner
	$(BIN)/honcho start -f Procfile --port $(or $(PORT),8000)

# The whole suite. Without DATABASE_URL/REDIS_URL/Chromium, the tests that need them
# skip with a reason; .ci/run provides all three and turns any skip into a failure.
# A fresh random key each run (the settings refuse short and placeholder keys), and plain
# http: the test client and the live server speak no TLS.
test: export SECRET_KEY := $(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')
test: export GONGZHI_HTTPS := false
test: migrate
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/ruff check --quiet .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
