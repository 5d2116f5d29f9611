# Two set-up commands: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# Tests run on PostgreSQL and Redis (this machine runs both on localhost).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
# `make smoke` recreates this database and flushes this Redis database on every run.
SMOKE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/smoke
SMOKE_REDIS_URL ?= redis://127.0.0.1:6379/1

# The browser tests (tests/browser) drive Debian's Chromium, installed when missing: as root,
# or through sudo. Fonts are a recommendation of the package, needed for readable screenshots.
CHROMIUM := /usr/bin/chromium
CHROMIUM_PACKAGES := chromium fonts-liberation
APT := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo)) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: install browser run test smoke lint format demo migrate clean lock image-check

# Local targets run with DEBUG on unless it is set: with it off (production), the system checks
# of marketplace/checks.py refuse the embedded SECRET_KEY and sandbox keys.
run migrate demo lint: export DEBUG ?= true
# `make run` takes payments through the local test provider (refused with DEBUG off);
# `make run STRIPE_STANDIN=1` through Stripe, the official library talking to the local Stripe
# stand-in (Procfile.dev's `stripe` process).
ifeq ($(STRIPE_STANDIN),1)
run: export PAYMENT_PROVIDER = stripe
run: export STRIPE_API_BASE = http://127.0.0.1:12111
endif
run: export PAYMENT_PROVIDER ?= test

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,production,sandbox]'
	rm -f $(VENV)/.installed-*
	touch $@

browser:
	@test -x $(CHROMIUM) || $(APT) install -y --no-install-recommends $(CHROMIUM_PACKAGES) \
		|| { $(APT) update && $(APT) install -y --no-install-recommends $(CHROMIUM_PACKAGES); }

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	@$(BIN)/python manage.py ensure_operator
	@$(BIN)/python manage.py seed_catalog
	@echo "Storefront:   http://127.0.0.1:8000/"
	@echo "Admin:        http://127.0.0.1:8000/admin/"
	@echo "API schema:   http://127.0.0.1:8000/api/schema/  (docs: /api/docs/)"
	@echo "Sandbox:      http://127.0.0.1:8765/health  (Space Invoices stand-in)"
	@echo "Stripe:       http://127.0.0.1:12111/  (Stripe stand-in; used with STRIPE_STANDIN=1)"
	$(BIN)/honcho start -f Procfile.dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/mypy
	$(BIN)/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

test: lint browser
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest --create-db -p no:cacheprovider

# The production profile (gunicorn, worker, beat, sandbox; DEBUG off) end to end over HTTP, then
# SIGTERM mid-issuance and a restart (marketplace/management/commands/smoke.py). One JSON line.
smoke: install
	$(BIN)/python manage.py smoke --database-url $(SMOKE_DATABASE_URL) --redis-url $(SMOKE_REDIS_URL)

# The production image installs exactly these versions, each checked against its hashes
# (Dockerfile: pip install --require-hashes), the sandbox's extra included (compose runs the
# sandbox from the image). Run after changing pyproject's dependencies or these extras;
# tests/test_deploy.py fails while the two disagree.
lock: install
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --extra production --extra sandbox \
		--no-emit-index-url --no-emit-find-links \
		--output-file requirements/production.lock pyproject.toml

# The image's build and start without a Docker engine (scripts/image-check): a fresh venv from
# the lock with --require-hashes, collectstatic, gunicorn with DEBUG off answering /healthz.
image-check:
	scripts/image-check

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The first milestone end to end on embedded defaults, in its own state folder and ports.
demo: install
	rm -rf .local/demo
	LOCAL_STATE_DIR=.local/demo SPACE_INVOICES_URL=http://127.0.0.1:8775 \
		OPERATOR_NAME="$${OPERATOR_NAME:-Demo Marketplace d.o.o.}" \
		OPERATOR_COUNTRY="$${OPERATOR_COUNTRY:-SI}" OPERATOR_VAT_NUMBER="$${OPERATOR_VAT_NUMBER:-SI12345679}" \
		OPERATOR_ADDRESS="$${OPERATOR_ADDRESS:-Dunajska 1}" OPERATOR_POST_CODE="$${OPERATOR_POST_CODE:-1000}" \
		OPERATOR_CITY="$${OPERATOR_CITY:-Ljubljana}" \
		$(BIN)/python manage.py demo --sandbox-port 8775

clean:
	rm -rf .local $(VENV) .mypy_cache .ruff_cache
