"""Webhooks: registration (``POST /webhooks``) and signed deliveries from a background thread.

``POST /webhooks {url, events, secret?}`` (account key) registers an endpoint for the account's
events of every entity; the answer carries the ``secret`` (``whsec_`` + 32 hex when not sent),
which later reads leave out. Events: ``invoice.created``, ``invoice.sent``, ``invoice.paid`` (the
invoice became paid in full, inline or by ``/payments``), ``invoice.voided``,
``credit_note.created``, ``credit_note.voided``, ``payment.received``; ``data`` is the document
(the payment for ``payment.received``).

A delivery is ``POST url`` with the raw body ``{"event", "data", "timestamp"}`` and headers
``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>``,
``X-Webhook-Timestamp`` (Unix seconds), ``X-Webhook-Event``, ``X-Webhook-Delivery``
(``dlv_...``, the same on every attempt) and ``X-Webhook-Id`` (the endpoint). Events are queued
after their transaction commits and sent by one daemon thread (started on the first event). A
2xx answer ends a delivery; anything else (or no answer within 5 s) is retried after the
schedule's next delay: immediately, then 1 min, 5 min, 30 min and 2 h after each failure,
:data:`RETRY_DELAYS`, which tests replace with short delays. The queue lives in memory: pending
retries are lost when the server stops. ``GET /sandbox/webhook-deliveries`` shows the attempts.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from invoicing.sandbox import jsoncodec
from invoicing.sandbox.ids import new_id, timestamp, utc_now

RETRY_DELAYS: tuple[float, ...] = (0, 60, 300, 1800, 7200)
DELIVERY_TIMEOUT = 5.0
_LOG_SIZE = 1000


@dataclass
class _Delivery:
    id: str
    account_id: str
    webhook_id: str
    url: str
    secret: str
    event: str
    body: bytes
    attempts: int = 0


def signature(secret: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value of a raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._delays = tuple(retry_delays)
        self._clock = clock
        self._queue: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)

    def emit(
        self, account_id: str, webhooks: Sequence[Mapping[str, Any]], event: str, data: Any
    ) -> None:
        """Queue ``event`` for every endpoint in ``webhooks`` that subscribed to it."""
        moment = utc_now()
        body = jsoncodec.dumps(
            {"event": event, "data": data, "timestamp": timestamp(moment)}
        ).encode()
        with self._condition:
            for webhook in webhooks:
                if event not in webhook["events"]:
                    continue
                delivery = _Delivery(
                    new_id("dlv"),
                    account_id,
                    webhook["id"],
                    webhook["url"],
                    webhook["secret"],
                    event,
                    body,
                )
                self._push(self._clock() + self._delays[0], delivery)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def attempts(self, account_id: str) -> list[dict[str, Any]]:
        """The delivery attempts made for the account, oldest first (the last 1000 overall)."""
        with self._condition:
            return [dict(entry) for entry in self._log if entry["account_id"] == account_id]

    def _push(self, due: float, delivery: _Delivery) -> None:
        heapq.heappush(self._queue, (due, next(self._order), delivery))

    def _run(self) -> None:
        with httpx.Client(timeout=DELIVERY_TIMEOUT, trust_env=False) as http:
            while True:
                with self._condition:
                    while not self._queue or self._queue[0][0] > self._clock():
                        wait = self._queue[0][0] - self._clock() if self._queue else None
                        self._condition.wait(wait)
                    _, _, delivery = heapq.heappop(self._queue)
                self._attempt(http, delivery)

    def _attempt(self, http: httpx.Client, delivery: _Delivery) -> None:
        delivery.attempts += 1
        sent_at = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "space-invoices-sandbox-webhooks",
            "X-Webhook-Signature": signature(delivery.secret, delivery.body),
            "X-Webhook-Timestamp": str(sent_at),
            "X-Webhook-Event": delivery.event,
            "X-Webhook-Delivery": delivery.id,
            "X-Webhook-Id": delivery.webhook_id,
        }
        outcome: int | str
        try:
            outcome = http.post(delivery.url, content=delivery.body, headers=headers).status_code
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        delivered = isinstance(outcome, int) and 200 <= outcome < 300
        with self._condition:
            self._log.append(
                {
                    "delivery_id": delivery.id,
                    "account_id": delivery.account_id,
                    "webhook_id": delivery.webhook_id,
                    "event": delivery.event,
                    "url": delivery.url,
                    "attempt": delivery.attempts,
                    "outcome": outcome,
                    "delivered": delivered,
                    "at": timestamp(utc_now()),
                }
            )
            if not delivered and delivery.attempts < len(self._delays):
                self._push(self._clock() + self._delays[delivery.attempts], delivery)
