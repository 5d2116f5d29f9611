"""System checks that refuse to start a production process (DEBUG off) with local-only secrets
or the local test payment provider (allowed with DEBUG off only in the smoke profile, against the
project's sandbox).

Registered in MarketplaceConfig.ready(); every management command (migrate, runserver, ...) runs
them first, and `refuse_to_start_on_errors` runs them when gunicorn (gunicorn.conf.py), the Celery
worker and beat (marketplace/celery.py) start, so a misconfigured deploy stops before it serves
anything.
"""

import sys
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.management.base import BaseCommand, SystemCheckError

# The host name docker-compose.yml gives the project's sandbox server.
_SANDBOX_SERVICE_HOST = "sandbox"


def production_secrets_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if settings.DEBUG:
        return []
    errors: list[CheckMessage] = []
    if not _strong_secret_key(settings.SECRET_KEY):
        errors.append(
            Error(
                "SECRET_KEY is the embedded default or too weak while DEBUG is off.",
                hint=(
                    f"Set SECRET_KEY to at least {SECRET_KEY_MIN_LENGTH} random characters, "
                    "or DEBUG=true for local use."
                ),
                id="marketplace.E001",
            )
        )
    if settings.SPACE_INVOICES_API_KEY.startswith("sk_sandbox_") and not _is_local_sandbox(
        settings.SPACE_INVOICES_URL
    ):
        errors.append(
            Error(
                "SPACE_INVOICES_API_KEY is a sandbox key while DEBUG is off and "
                "SPACE_INVOICES_URL is not the project's sandbox: invoices would not be real.",
                hint="Set SPACE_INVOICES_API_KEY to the live account key (sk_live_...).",
                id="marketplace.E002",
            )
        )
    smoke_sandbox = settings.SPACE_INVOICES_API_KEY.startswith("sk_sandbox_") and _is_local_sandbox(
        settings.SPACE_INVOICES_URL
    )
    if settings.SMOKE_PROFILE and not smoke_sandbox:
        errors.append(
            Error(
                "SMOKE_PROFILE is on outside the smoke profile: it lets the local test payment "
                "provider run with DEBUG off, so it needs the project's sandbox and a sandbox key.",
                hint="Unset SMOKE_PROFILE in production.",
                id="marketplace.E005",
            )
        )
    if settings.PAYMENT_PROVIDER == "test" and not (settings.SMOKE_PROFILE and smoke_sandbox):
        errors.append(
            Error(
                "PAYMENT_PROVIDER is the local test provider while DEBUG is off: its page signs "
                'a "paid" callback for anyone, so any buyer could mark an order paid.',
                hint=(
                    "Set PAYMENT_PROVIDER=offline (operators record payments received), or "
                    "DEBUG=true for local use."
                ),
                id="marketplace.E004",
            )
        )
    errors.extend(_stripe_errors())
    return errors


_STRIPE_LOCAL_DEFAULTS = {"sk_test_local", "whsec_local"}


def _stripe_errors() -> list[CheckMessage]:
    """With DEBUG off, Stripe takes real money: its key and webhook secret must be set, and the
    API must be Stripe's, not the local stand-in."""
    if settings.PAYMENT_PROVIDER != "stripe":
        return []
    errors: list[CheckMessage] = []
    if {settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET} & _STRIPE_LOCAL_DEFAULTS:
        errors.append(
            Error(
                "PAYMENT_PROVIDER is stripe while DEBUG is off, but STRIPE_SECRET_KEY or "
                "STRIPE_WEBHOOK_SECRET is the local stand-in's default.",
                hint=(
                    "Set STRIPE_SECRET_KEY (sk_live_...) and STRIPE_WEBHOOK_SECRET (the "
                    "endpoint's whsec_... from Stripe's dashboard)."
                ),
                id="marketplace.E006",
            )
        )
    if urlsplit(settings.STRIPE_API_BASE).hostname != "api.stripe.com":
        errors.append(
            Error(
                "STRIPE_API_BASE is not Stripe's API while DEBUG is off: payments would not be "
                "real.",
                hint="Unset STRIPE_API_BASE (https://api.stripe.com).",
                id="marketplace.E007",
            )
        )
    return errors


def refuse_to_start_on_errors() -> None:
    """The system checks a management command runs first (these and Django's own), for processes
    that are not management commands. An error stops the process: its messages on stderr, exit
    status 1. Warnings are printed and the process goes on. Django must be set up."""
    try:
        BaseCommand().check()
    except SystemCheckError as error:
        sys.stderr.write(f"{error}\n")
        sys.stderr.flush()
        raise SystemExit(1) from error


def _strong_secret_key(key: str) -> bool:
    """Django's own rule for `check --deploy` (W009), enforced here on every start."""
    return (
        len(key) >= SECRET_KEY_MIN_LENGTH
        and len(set(key)) >= SECRET_KEY_MIN_UNIQUE_CHARACTERS
        and not key.startswith(SECRET_KEY_INSECURE_PREFIX)
    )


def _is_local_sandbox(url: str) -> bool:
    """The project's sandbox: on this machine, or the sandbox service of docker-compose."""
    host = urlsplit(url).hostname or ""
    if host in {"localhost", _SANDBOX_SERVICE_HOST}:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
