"""Nothing lost and the truth told while the broker, then the database, goes away.

Real processes: gunicorn (DEBUG off), a Celery worker and beat, the sandbox, a private
redis-server on its own port as broker and cache, and PostgreSQL reached through a proxy that
cuts every connection and refuses new ones. Buyers check out and an operator records payments
over HTTP throughout.

- Broker outage: redis-server is SIGKILLed (its queue is lost with it) and payments are posted
  meanwhile: each commits and answers 200 (the enqueue is logged and left for the sweeper), and
  checkout keeps working (its throttle fails open). Redis is started again, empty.
- Database outage: right after payments are posted (their invoices being issued), every
  database connection is cut and refused: the API answers 503 JSON with Retry-After.

It asserts that every response outside the database outage is a success and every one inside
it a 503 JSON, that every paid order has exactly one invoice (here and in Space Invoices), and
that every issued invoice was emailed exactly once (the sandbox's outbox); and prints how long
the last invoice took to be issued and sent after each outage ended.
"""

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from django.db import connection
from pytest_django.fixtures import Settings
from rest_framework.authtoken.models import Token

from invoicing.client import SpaceInvoicesClient
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.celery import app as celery_app
from marketplace.models import Order, Product
from tests.factories import UserFactory, operator_user, seller_with_entity
from tests.integration.processes import (
    ROOT,
    TcpProxy,
    free_port,
    production_env,
    start_gunicorn,
    start_redis,
    start_sandbox,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "sk_sandbox_faults"
BILLING = {
    "name": "Ana Novak",
    "email": "ana@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}
UNAVAILABLE = {
    "detail": "The service is unavailable for a moment; try again shortly.",
    "code": "unavailable",
}
OUTAGE_SECONDS = 5


class Shop:
    """The buyer's and the operator's HTTP calls, every answer kept with the phase it came in."""

    def __init__(self, url: str, product: Product) -> None:
        buyer, operator = (
            UserFactory(),
            operator_user("marketplace.view_order", "marketplace.record_order_payment"),
        )
        self.buyer = httpx.Client(base_url=url, headers=self._token(buyer), timeout=30)
        self.operator = httpx.Client(base_url=url, headers=self._token(operator), timeout=30)
        self.product = product
        self.answers: list[tuple[str, str, int, Any]] = []
        self.paid: list[int] = []

    @staticmethod
    def _token(user: Any) -> dict[str, str]:
        return {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    def _keep(self, phase: str, response: httpx.Response) -> httpx.Response:
        body = (
            response.json() if response.headers.get("content-type") == "application/json" else None
        )
        what = f"{response.request.method} {response.request.url.path}"
        self.answers.append((phase, what, response.status_code, body))
        return response

    def checkout_and_pay(self, phase: str) -> None:
        lines = [{"product_id": self.product.pk, "quantity": 1}]
        placed = self._keep(
            phase, self.buyer.post("/api/checkout/", json={"lines": lines, "billing": BILLING})
        )
        for order in placed.json()["orders"] if placed.status_code == 201 else []:
            paid = self._keep(phase, self.operator.post(f"/api/orders/{order['id']}/pay/"))
            if paid.status_code == 200:
                self.paid.append(order["id"])

    def refused(self, phase: str) -> None:
        """Calls made while the database is away."""
        self._keep(phase, self.buyer.get("/api/orders/"))
        lines = [{"product_id": self.product.pk, "quantity": 1}]
        self._keep(
            phase, self.buyer.post("/api/checkout/", json={"lines": lines, "billing": BILLING})
        )


def sandbox_faults(url: str, **config: object) -> None:
    response = httpx.post(
        f"{url}/sandbox/faults", json=config, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 200, response.text


def start_beat(env: dict[str, str], schedule: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "marketplace", "beat", "--loglevel",
               "WARNING", "--max-interval", "1", "--schedule", str(schedule)]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)


def settled(order_ids: list[int]) -> bool | None:
    """Every order's invoice issued and emailed."""
    done = Document.objects.filter(
        order_id__in=order_ids,
        kind=DocumentKind.INVOICE,
        state=DocumentState.ISSUED,
        sent_at__isnull=False,
    ).count()
    return done == len(order_ids) or None


def recovery_seconds(order_ids: list[int], since: float) -> float:
    wait_for(lambda: settled(order_ids), "every invoice issued and sent", timeout=120)
    return round(time.monotonic() - since, 1)


def test_no_invoice_or_email_lost_and_503_json_while_the_broker_or_the_database_is_away(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    redis_port = free_port()
    redis_server = start_redis(redis_port)
    database = connection.settings_dict
    proxy = TcpProxy((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)))
    sandbox, sandbox_url = start_sandbox(tmp_path / "sandbox.sqlite3", KEY)
    settings.SPACE_INVOICES_URL = sandbox_url
    settings.SPACE_INVOICES_API_KEY = KEY
    settings.SPACE_INVOICES_RATE_LIMIT_PER_MIN = 0
    product = Product.objects.create(
        seller=seller_with_entity(), name="Mug", unit_price=Decimal("10.00")
    )
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgres://{database['USER']}@127.0.0.1:{proxy.port}/{database['NAME']}",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
        CACHE_URL=f"redis://127.0.0.1:{redis_port}/1",
        CELERY_TASK_DEFAULT_QUEUE=celery_app.conf.task_default_queue,
        SPACE_INVOICES_URL=sandbox_url,
        SPACE_INVOICES_API_KEY=KEY,
        SPACE_INVOICES_RATE_LIMIT_PER_MIN="0",
        INVOICE_SWEEP_INTERVAL="2",
        INVOICE_PENDING_SWEEP_AFTER="4",
        INVOICE_RETRY_BASE_DELAY="0.5",
        INVOICE_RETRY_MAX_DELAY="4",
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        web, url = start_gunicorn(env, tmp_path / "web.log")
        processes.append(web)
        with (tmp_path / "worker.log").open("wb") as log:
            processes.append(start_worker(env, log=log))
        with (tmp_path / "beat.log").open("wb") as log:
            processes.append(start_beat(env, tmp_path / "beat-schedule", log))
        shop = Shop(url, product)
        for _ in range(2):
            shop.checkout_and_pay("before")
        wait_for(lambda: settled(shop.paid), "the first invoices issued and sent")

        redis_server.send_signal(signal.SIGKILL)
        redis_server.wait()
        for _ in range(3):
            shop.checkout_and_pay("broker down")
        time.sleep(OUTAGE_SECONDS)
        redis_server = start_redis(redis_port)
        broker_back = time.monotonic()
        broker_recovery = recovery_seconds(shop.paid, broker_back)

        # Each Space Invoices call now takes a second, so the cut comes mid-issuance.
        sandbox_faults(sandbox_url, latency_ms=1000)
        for _ in range(3):
            shop.checkout_and_pay("before the database outage")
        proxy.cut()
        in_flight = len(shop.paid) - Document.objects.filter(sent_at__isnull=False).count()
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_ends:
            shop.refused("database down")
            time.sleep(1)
        proxy.restore()
        database_back = time.monotonic()
        sandbox_faults(sandbox_url)
        database_recovery = recovery_seconds(shop.paid, database_back)
        for _ in range(2):
            shop.checkout_and_pay("after")
        wait_for(lambda: settled(shop.paid), "the last invoices issued and sent")
        client = SpaceInvoicesClient(base_url=sandbox_url, api_key=KEY)
        entity_id = str(product.seller.entity_id)
        remote = list(client.invoice_iter(entity_id=entity_id))
        messages = client.message_list(entity_id=entity_id, limit=100).data
    finally:
        for process in [*processes, sandbox]:
            stop(process)
        stop(redis_server)
        proxy.cut()

    figures = {"broker_recovery_s": broker_recovery, "database_recovery_s": database_recovery,
               "outage_s": OUTAGE_SECONDS, "paid_orders": len(shop.paid),
               "unsent_at_the_database_cut": in_flight}  # fmt: skip
    with capsys.disabled():  # shown in every run's output
        sys.stdout.write(f"\nfault recovery: {json.dumps(figures)}\n")
    outside = [a for a in shop.answers if a[0] != "database down"]
    inside = [a for a in shop.answers if a[0] == "database down"]
    assert [a for a in outside if a[2] not in (200, 201)] == []
    assert len(inside) >= 2 * OUTAGE_SECONDS - 2
    assert [a for a in inside if (a[2], a[3]) != (503, UNAVAILABLE)] == []
    assert len(shop.paid) == 10  # 10 checkouts of one order each, all paid

    paid = set(shop.paid)
    assert set(Order.objects.filter(paid_at__isnull=False).values_list("pk", flat=True)) == paid
    invoices = Document.objects.filter(kind=DocumentKind.INVOICE)
    assert Counter(invoices.values_list("order_id", flat=True)) == Counter(paid)
    assert set(invoices.values_list("state", flat=True)) == {DocumentState.ISSUED}
    assert Counter(int(d["metadata"]["order_id"]) for d in remote) == Counter(paid)
    assert Counter(m["document_id"] for m in messages) == Counter(
        str(remote_id) for remote_id in invoices.values_list("remote_id", flat=True)
    )
