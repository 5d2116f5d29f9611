"""Webhook events as Stripe sends them: an `event` object, POSTed as JSON with a
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" under the endpoint's
secret>` header (Stripe's v1 scheme, which `stripe.Webhook.construct_event` verifies)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from marketplace.stripe_standin.ids import new_id

API_VERSION = "2026-10-28.endive"

logger = logging.getLogger("marketplace.stripe_standin.webhooks")

# Delivers one signed event body to the endpoint: (url, body, headers) -> HTTP status.
Deliver = Callable[[str, bytes, dict[str, str]], int]


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header of a payload."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def http_deliver(url: str, body: bytes, headers: dict[str, str]) -> int:
    with httpx.Client(timeout=10) as http:
        return http.post(url, content=body, headers=headers).status_code


@dataclass
class Delivery:
    event_id: str
    type: str
    status: int  # the endpoint's answer; 0 when it could not be reached


@dataclass
class WebhookEndpoint:
    """The one endpoint events go to (none configured: events are kept, not sent)."""

    url: str = ""
    secret: str = ""
    deliver: Deliver = http_deliver
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1 if self.url else 0,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }
        if self.url:
            self.deliver_event(event)
        return event

    def deliver_event(self, event: dict[str, Any]) -> int:
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign_payload(body, self.secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            status = self.deliver(self.url, body, headers)
        except httpx.HTTPError as error:
            logger.warning("webhook %s %s not delivered: %s", event["id"], event["type"], error)
            status = 0
        logger.info("webhook %s %s -> %s", event["id"], event["type"], status)
        with self.lock:
            self.deliveries.append(Delivery(event["id"], event["type"], status))
        return status
