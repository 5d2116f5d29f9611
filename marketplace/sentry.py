"""Errors to Sentry, one environment variable away: settings call `sentry_init` when SENTRY_DSN
is set. Events carry no personal data (`send_default_pii` off) and every text in them is
redacted like the logs; each is tagged with the request id of the request or task it came from.
"""

from typing import Any, cast

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.types import Event, Hint

from core.logging import redact
from core.request_id import request_id_current


def sentry_init(*, dsn: str, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        before_send=sentry_before_send,
    )


def sentry_before_send(event: Event, hint: Hint) -> Event:
    redacted = cast(Event, _redacted(event))
    request_id = request_id_current()
    if request_id:
        redacted.setdefault("tags", {})["request_id"] = request_id
    return redacted


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
