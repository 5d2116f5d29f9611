"""One settings module, read from the environment (see .env.example for every variable).

With nothing configured it runs on embedded defaults: a SQLite file, a filesystem broker
and the local Space Invoices sandbox, so `make run` needs no server of its own.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab, schedule

# Lets admin and generic classes be subscripted at run time (ModelAdmin[Seller]) for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Embedded-default state (SQLite file, broker queue, sandbox data) lives here.
LOCAL_DIR = BASE_DIR / env.str("LOCAL_STATE_DIR", default=".local")
LOCAL_DIR.mkdir(parents=True, exist_ok=True)

# Off unless set: production is the default mode, and `make run`/`make demo` turn it on. With it
# off, the system checks in marketplace/checks.py refuse the embedded SECRET_KEY below.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-only-set-SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "core.apps.OperatorAdminConfig",  # django.contrib.admin with the operators' site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files (SPECTACULAR_SETTINGS)
    "django_countries",
    "axes",
    "core",
    "marketplace",
    "sellers",
    "invoicing",
    "reporting",
]

MIDDLEWARE = [
    # First: the request's id is current (and logged, and echoed) through everything below.
    "core.request_id.RequestIdMiddleware",
    # A database or cache error answers 503 (JSON under /api/), never a traceback.
    "core.unavailable.ServiceUnavailableMiddleware",
    # Answers /healthz and /readyz before host validation and the HTTPS redirect (probes).
    "core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself (gunicorn): compressed, hashed names cached a year.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Answers a login that django-axes locked out (the last, as axes asks).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.storefront.context_processors.cart",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{LOCAL_DIR / 'db.sqlite3'}")}
# Keep connections between requests (a new PostgreSQL connection costs milliseconds).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Parameters bound on the server, and a statement run five times on a connection prepared
    # there: PostgreSQL parses and plans it once, not at every run (half its CPU per checkout,
    # benchmarks/README.md). Off behind a pooler in transaction mode that cannot keep them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the embedded file: wait for locks, take them up front.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
# VIES answers (a day) and API throttle counters live here; use Redis in production
# (CACHE_URL=redis://...) so that every web process counts against the same limits.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Seconds the public catalog listing's answers stay in the cache (marketplace/listing_cache.py):
# a product or seller change shows in the listing within that time. 0 builds every answer.
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # django-axes: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes locks a username (as authentication reads it: core.throttles.login_username)
# from one client address out after LOGIN_FAILURE_LIMIT failed logins, for LOGIN_LOCKOUT_MINUTES,
# on the API's token login, the storefront's login and admin's; the login throttle
# (THROTTLE_LOGIN) still counts every attempt besides. Attempts are rows (admin: Axes); a
# successful session login clears its pair; `manage.py axes_reset` clears all.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "core.throttles.axes_username"
AXES_CLIENT_IP_CALLABLE = "core.throttles.client_address"
AXES_LOCKOUT_CALLABLE = "core.throttles.login_locked_out_page"
# No row per successful login: a login history is personal data nothing here reads.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Buyers log in on the storefront's pages (operators keep admin's own login).
LOGIN_URL = "storefront:login"
LOGIN_REDIRECT_URL = "storefront:my-orders"
LOGOUT_REDIRECT_URL = "storefront:catalog"

# Guest buyers get their order link by email; printed to the console unless configured, with the
# link and addresses redacted (core/logging.py): the console is a log too.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="core.logging.RedactingConsoleEmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Marketplace <orders@localhost>")
# Days a guest buyer's emailed order link keeps working.
GUEST_LINK_MAX_AGE_DAYS = env.int("GUEST_LINK_MAX_AGE_DAYS", default=90)

# Who takes buyers' payments. "offline": no online provider; an operator with the permission
# `marketplace.record_order_payment` records a payment received (POST /api/orders/{id}/pay/,
# audited). "test": the local test payment provider (marketplace.payments), whose page signs a
# "paid" callback for anyone: only with DEBUG on (`make run` sets it) or in the test suite
# (tests/conftest.py) or the smoke profile (SMOKE_PROFILE below); the start-up checks refuse it
# with DEBUG off otherwise. "stripe": Stripe Connect (marketplace.stripe_provider): card payments
# through Stripe Checkout, one transfer per seller order, refunds through Stripe.
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="offline")
if PAYMENT_PROVIDER not in {"offline", "test", "stripe"}:
    raise environ.ImproperlyConfigured("PAYMENT_PROVIDER must be offline, test or stripe")
# The smoke profile (`make smoke`, benchmarks/load.py): production settings with DEBUG off that
# may take payments through the test provider, whose callbacks the smoke signs as the provider
# would. Only against the project's own Space Invoices sandbox with a sandbox key: the start-up
# checks refuse it anywhere else (marketplace/checks.py E005), and the test provider stays
# refused with DEBUG off without it (E004).
SMOKE_PROFILE = env.bool("SMOKE_PROFILE", default=False)
# Signs the local test payment provider's callbacks.
PAYMENT_PROVIDER_SECRET = env.str(
    "PAYMENT_PROVIDER_SECRET", default="insecure-local-payment-provider-secret"
)
# Stripe (PAYMENT_PROVIDER=stripe). The secret key (sk_live_... / sk_test_...), the signing
# secret of the webhook endpoint registered at /api/webhooks/stripe/ (whsec_...), how old a
# webhook's signed timestamp may be, and where the API answers: api.stripe.com, or the local
# stand-in (python -m marketplace.stripe_standin, `make run` with STRIPE_STANDIN=1).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_local")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_local")
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")

# Northern Ireland's VAT code: its goods are taxed under the EU's rules (marketplace.eu_vat), so
# sellers and buyers there are told apart from Great Britain.
COUNTRIES_OVERRIDE = {"XI": "Northern Ireland"}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` writes here (at image build or release); WhiteNoise serves it.
STATIC_ROOT = env.path("STATIC_ROOT", default=LOCAL_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Names with a content hash (storefront.3f2a9c.css) and .gz copies; WhiteNoise serves hashed
    # names with a year's `immutable` Cache-Control. With DEBUG on, templates link the plain
    # names and runserver serves them from the apps, no collectstatic needed.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# Cookies only over HTTPS outside local use; the session cookie is never readable by scripts.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# TLS usually ends at a proxy, which redirects plain HTTP itself; set these when Django sees it.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 30)
# Off unless set: they bind every subdomain of the site's domain, and preloading into browsers is
# the domain owner's decision (`check --deploy` warns until both are set).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Views opt in with `throttle_scope`; counters live in the default cache (see CACHES).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="10/hour"),
        "checkout": env.str("THROTTLE_CHECKOUT", default="30/min"),
        "export": env.str("THROTTLE_EXPORT", default="20/min"),
    },
    # Proxies in front of the app that append to X-Forwarded-For; with 0 the client address is
    # REMOTE_ADDR, so a client cannot pick its own throttle bucket with a forged header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Marketplace invoicing API",
    "DESCRIPTION": "Sellers, catalog, checkout, orders and invoices issued through Space Invoices.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ (Swagger UI) and /api/redoc/ load their scripts from our static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`; each choice set gets its own component name.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "marketplace.models.OrderStatus",
        "SellerStatusEnum": "sellers.models.SellerStatus",
        "ExportStatusEnum": "reporting.models.ExportStatus",
    },
}

# Celery: Redis in production and CI; a filesystem queue needing no server by default.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 300}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = LOCAL_DIR / "broker"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(LOCAL_DIR / "broker-processed"),
        # Its exchange table; kombu's default is "control" in the working directory.
        "control_folder": str(LOCAL_DIR / "broker-control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker killed mid-task (SIGKILL, OOM) gives its acks_late task back to the queue; on Redis an
# unacknowledged message returns after the visibility timeout (the sweeper covers the rest).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers keep their database connection between tasks, as web threads keep theirs between
# requests: Celery's Django fixup would otherwise close it before and after every task (a new
# PostgreSQL backend per task). marketplace/celery.py closes it after a task when it errored
# and no longer answers or is older than CONN_MAX_AGE; the fixup still closes it every 1,000 tasks.
CELERY_DB_REUSE_MAX = 1000
# Beat's record of when each entry last ran.
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "invoicing.sweep_pending": {
        "task": "invoicing.sweep_pending",
        "schedule": schedule(timedelta(seconds=env.int("INVOICE_SWEEP_INTERVAL", default=15))),
    },
    "invoicing.reconcile": {
        "task": "invoicing.reconcile",
        "schedule": schedule(timedelta(hours=6)),
    },
    # E-invoicing mandates come into force on a date (sellers.einvoicing).
    "invoicing.e_invoicing_sync": {
        "task": "invoicing.e_invoicing_sync",
        "schedule": schedule(timedelta(hours=24)),
    },
}

# Space Invoices: the local sandbox by default; set both to use the real service.
SPACE_INVOICES_URL = env.str("SPACE_INVOICES_URL", default="http://127.0.0.1:8765")
SPACE_INVOICES_API_KEY = env.str("SPACE_INVOICES_API_KEY", default="sk_sandbox_local")
# Where a document's shareable_id opens the document for its buyer.
SPACE_INVOICES_SHARE_URL = env.str(
    "SPACE_INVOICES_SHARE_URL", default=SPACE_INVOICES_URL.rstrip("/") + "/share/"
)
SPACE_INVOICES_TIMEOUT = env.float("SPACE_INVOICES_TIMEOUT", default=10.0)
# The secret that signs Space Invoices' webhook deliveries to us (manage.py register_webhook
# registers it). The embedded one only goes with sandbox keys: with a live key and no secret
# every delivery is refused.
SPACE_INVOICES_WEBHOOK_SECRET = env.str(
    "SPACE_INVOICES_WEBHOOK_SECRET",
    default="whsec_sandbox_local" if SPACE_INVOICES_API_KEY.startswith("sk_sandbox_") else "",
)
# Seconds a delivery's signed timestamp may be away from our clock. Space Invoices resends the
# same signed body for 2 h 36 min (0, 1, 5, 30 min, 2 h); 3 h lets its last retry in, and a
# replay within the window is still refused by its delivery id.
SPACE_INVOICES_WEBHOOK_TOLERANCE = env.int("SPACE_INVOICES_WEBHOOK_TOLERANCE", default=10800)
# The embedded dashboard a seller admin opens with a short-lived entity key: the sandbox's page
# by default, https://app.spaceinvoices.com with the real service.
SPACE_INVOICES_DASHBOARD_URL = env.str(
    "SPACE_INVOICES_DASHBOARD_URL", default=SPACE_INVOICES_URL.rstrip("/") + "/embed/dashboard"
)
# Seconds a dashboard's entity key lives.
SELLER_DASHBOARD_KEY_TTL = env.int("SELLER_DASHBOARD_KEY_TTL", default=900)
# A seller that signs up by itself waits for an operator's approval once its entity exists.
SELLER_APPROVAL_REQUIRED = env.bool("SELLER_APPROVAL_REQUIRED", default=True)
# A seller's logo: PNG or JPEG, at most this many bytes.
SELLER_LOGO_MAX_BYTES = env.int("SELLER_LOGO_MAX_BYTES", default=512 * 1024)
# Requests per minute all our processes together send with this key (0: no limit): about 60 for
# sandbox keys and 600 for live ones. Shared through Redis when the broker is Redis.
SPACE_INVOICES_RATE_LIMIT_PER_MIN = env.int(
    "SPACE_INVOICES_RATE_LIMIT_PER_MIN",
    default=60 if SPACE_INVOICES_API_KEY.startswith("sk_sandbox_") else 600,
)
# Reconciliation's share of that limit, in percent: its own bucket of this size, on top of the
# shared one, so issuance always keeps the rest.
RECONCILIATION_RATE_LIMIT_PERCENT = env.int("RECONCILIATION_RATE_LIMIT_PERCENT", default=10)
if not 1 <= RECONCILIATION_RATE_LIMIT_PERCENT <= 100:
    raise environ.ImproperlyConfigured("RECONCILIATION_RATE_LIMIT_PERCENT must be 1 to 100")
RATE_LIMIT_REDIS_URL = env.str(
    "RATE_LIMIT_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis://") else "",
)
INVOICE_TRIGGER = env.str("INVOICE_TRIGGER", default="paid")
# The marketplace's commission on a seller's sales, in percent of each line's net amount, for
# sellers without a rate of their own (Seller.commission_rate; marketplace.commission).
try:
    MARKETPLACE_COMMISSION_RATE = Decimal(env.str("MARKETPLACE_COMMISSION_RATE", default="10.00"))
except InvalidOperation as error:
    raise environ.ImproperlyConfigured("MARKETPLACE_COMMISSION_RATE must be a number") from error
if not Decimal(0) <= MARKETPLACE_COMMISSION_RATE <= 100:
    raise environ.ImproperlyConfigured("MARKETPLACE_COMMISSION_RATE must be between 0 and 100")
# Commission per product tax category ("reduced=8.00,zero=5.00"), for sellers without a rate of
# their own; a category not named here takes MARKETPLACE_COMMISSION_RATE.
try:
    MARKETPLACE_COMMISSION_CATEGORY_RATES = {
        category.strip(): Decimal(rate)
        for category, _, rate in (
            pair.partition("=")
            for pair in env.str("MARKETPLACE_COMMISSION_CATEGORY_RATES", default="").split(",")
            if pair.strip()
        )
    }
except InvalidOperation as error:
    raise environ.ImproperlyConfigured(
        "MARKETPLACE_COMMISSION_CATEGORY_RATES must map categories to numbers"
    ) from error
if not all(Decimal(0) <= rate <= 100 for rate in MARKETPLACE_COMMISSION_CATEGORY_RATES.values()):
    raise environ.ImproperlyConfigured("MARKETPLACE_COMMISSION_CATEGORY_RATES must be 0 to 100")
if INVOICE_TRIGGER not in {"placed", "paid", "fulfilled"}:
    raise environ.ImproperlyConfigured("INVOICE_TRIGGER must be placed, paid or fulfilled")
# A row still pending (or an issued document's email or payment record still due) this long
# after its last attempt is driven again by the sweeper, which beat runs every
# INVOICE_SWEEP_INTERVAL seconds: work whose message was lost (the broker was down, a worker
# died) is picked up within about the sum of the two, 45 s with the defaults.
INVOICE_PENDING_SWEEP_AFTER = timedelta(seconds=env.int("INVOICE_PENDING_SWEEP_AFTER", default=30))
INVOICE_MAX_ATTEMPTS = env.int("INVOICE_MAX_ATTEMPTS", default=8)
# Backoff between attempts: full jitter up to base * 2**attempt seconds, capped.
INVOICE_RETRY_BASE_DELAY = env.float("INVOICE_RETRY_BASE_DELAY", default=2.0)
INVOICE_RETRY_MAX_DELAY = env.float("INVOICE_RETRY_MAX_DELAY", default=300.0)
# Email each issued invoice and credit note to the buyer (POST /documents/{id}/send).
SEND_DOCUMENTS_TO_BUYERS = env.bool("SEND_DOCUMENTS_TO_BUYERS", default=True)
# Where a send that may have gone out is looked up before it is repeated: the sandbox's list of
# sent messages; the real service's is not documented (a 404 there repeats the send with its
# request id, which the API answers without sending again).
SPACE_INVOICES_MESSAGES_PATH = env.str("SPACE_INVOICES_MESSAGES_PATH", default="/sandbox/outbox")


# The marketplace operator: the legal issuer of its commission invoices to sellers and of its
# deemed-supplier sales (invoicing.operator creates its Space Invoices entity from these), and
# the platform operator the DAC7 report names (reporting/filings/dac7.py). Each OPERATOR_* falls
# back to the DAC7_OPERATOR_* variable of the same detail, the names these had first.
def _operator(name: str, dac7_name: str) -> str:
    return str(env.str(name, default=env.str(dac7_name, default="")))


OPERATOR_NAME = _operator("OPERATOR_NAME", "DAC7_OPERATOR_NAME")
# Its TIN (for the French DAC7 file the dac7 package writes, its 9-digit SIREN).
OPERATOR_TIN = _operator("OPERATOR_TIN", "DAC7_OPERATOR_TIN")
OPERATOR_VAT_NUMBER = _operator("OPERATOR_VAT_NUMBER", "DAC7_OPERATOR_VAT")
OPERATOR_ADDRESS = _operator("OPERATOR_ADDRESS", "DAC7_OPERATOR_ADDRESS")
OPERATOR_POST_CODE = _operator("OPERATOR_POST_CODE", "DAC7_OPERATOR_POST_CODE")
OPERATOR_CITY = _operator("OPERATOR_CITY", "DAC7_OPERATOR_CITY")
OPERATOR_COUNTRY = _operator("OPERATOR_COUNTRY", "DAC7_OPERATOR_COUNTRY").strip().upper()
OPERATOR_EMAIL = env.str("OPERATOR_EMAIL", default="")
DAC7_OPERATOR_NAME = OPERATOR_NAME
DAC7_OPERATOR_TIN = OPERATOR_TIN
DAC7_OPERATOR_VAT = OPERATOR_VAT_NUMBER
DAC7_OPERATOR_ADDRESS = OPERATOR_ADDRESS
DAC7_OPERATOR_POST_CODE = OPERATOR_POST_CODE
DAC7_OPERATOR_CITY = OPERATOR_CITY
DAC7_OPERATOR_COUNTRY = OPERATOR_COUNTRY
# The operator entity's number series: commission invoices and their credit notes.
OPERATOR_INVOICE_NUMBER_FORMAT = env.str(
    "OPERATOR_INVOICE_NUMBER_FORMAT", default="MP-{yyyy}-{nnnnn}"
)
OPERATOR_CREDIT_NOTE_NUMBER_FORMAT = env.str(
    "OPERATOR_CREDIT_NOTE_NUMBER_FORMAT", default="MPCN-{yyyy}-{nnnnn}"
)
# The number series of the operator's second entity, for its deemed-supplier sales (Article 14a)
# and their credit notes (invoicing.operator).
DEEMED_SALES_INVOICE_NUMBER_FORMAT = env.str(
    "DEEMED_SALES_INVOICE_NUMBER_FORMAT", default="{yyyy}-{nnnnn}"
)
DEEMED_SALES_CREDIT_NOTE_NUMBER_FORMAT = env.str(
    "DEEMED_SALES_CREDIT_NOTE_NUMBER_FORMAT", default="CN-{yyyy}-{nnnnn}"
)
# The day of the month (1-28) beat writes the previous month's commission invoices and credit
# notes (invoicing.commission_invoices), at COMMISSION_INVOICE_HOUR o'clock (TIME_ZONE).
COMMISSION_INVOICE_DAY = env.int("COMMISSION_INVOICE_DAY", default=1)
COMMISSION_INVOICE_HOUR = env.int("COMMISSION_INVOICE_HOUR", default=3)
if not 1 <= COMMISSION_INVOICE_DAY <= 28:
    raise environ.ImproperlyConfigured("COMMISSION_INVOICE_DAY must be 1 to 28")
if not 0 <= COMMISSION_INVOICE_HOUR <= 23:
    raise environ.ImproperlyConfigured("COMMISSION_INVOICE_HOUR must be 0 to 23")
CELERY_BEAT_SCHEDULE["invoicing.commission_invoices"] = {
    "task": "invoicing.commission_invoices",
    "schedule": crontab(
        minute=0, hour=COMMISSION_INVOICE_HOUR, day_of_month=COMMISSION_INVOICE_DAY
    ),
}

# Seconds each /readyz check (database, cache, broker, Space Invoices) may take.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=2.0)
# The Space Invoices route /readyz reads: the sandbox's; the real service's is not documented.
SPACE_INVOICES_HEALTH_PATH = env.str("SPACE_INVOICES_HEALTH_PATH", default="/health")
# Celery beat touches this file on every tick (core.health.HeartbeatScheduler); its
# healthcheck reads the file's age.
BEAT_HEARTBEAT_FILE = env.path("BEAT_HEARTBEAT_FILE", default=LOCAL_DIR / "beat-heartbeat")

# Log lines: JSON objects (LOG_FORMAT=json, the default with DEBUG off) or text (the default with
# DEBUG on), each with the request id of the web request it belongs to (core/request_id.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise environ.ImproperlyConfigured("LOG_FORMAT must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s [%(request_id)s]"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    # Every handler redacts keys, tokens, email addresses and VAT numbers (core/logging.py)
    # and gives each record the current request id.
    "filters": {
        "redact": {"()": "core.logging.RedactingFilter"},
        "request_id": {"()": "core.logging.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs whole URLs (query strings hold order ids); our client logs each call itself.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # django-axes logs each failed login with its username and address (personal data); the
        # attempts are in admin.
        "axes": {"level": "ERROR"},
        # Django gives these their own handlers; configured here they lose them and reach the
        # redacting console handler through the root logger instead.
        "django": {"level": "INFO", "propagate": True},
        "django.server": {"level": "INFO", "propagate": True},
        # sentry-sdk gives its logger a (non-redacting) stderr handler of its own unless it has one.
        "sentry_sdk.errors": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Errors and their traces go to Sentry when this is set (off by default); events are redacted
# like the logs and carry no personal data (marketplace/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from marketplace.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))
