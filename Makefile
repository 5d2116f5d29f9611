# Two set-up commands: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# Tests run on PostgreSQL and Redis (this machine runs both on localhost).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run test lint format demo migrate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	@$(BIN)/python manage.py ensure_operator
	@echo "Admin:        http://127.0.0.1:8000/admin/"
	@echo "API schema:   http://127.0.0.1:8000/api/schema/  (docs: /api/docs/)"
	@echo "Sandbox:      http://127.0.0.1:8765/health  (Space Invoices stand-in)"
	$(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/mypy
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest --create-db -p no:cacheprovider

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The first milestone end to end on embedded defaults, in its own state folder and ports.
demo: install
	rm -rf .local/demo
	LOCAL_STATE_DIR=.local/demo SPACE_INVOICES_URL=http://127.0.0.1:8775 \
		$(BIN)/python manage.py demo --sandbox-port 8775

clean:
	rm -rf .local $(VENV) .mypy_cache .ruff_cache
