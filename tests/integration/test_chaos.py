"""Exactly one invoice per order while the API fails and workers crash.

The sandbox server injects 10 % 5xx, 5 % timeouts, 5 % lost responses (the write done, the
answer dropped) and 3 % 429s; two worker processes are killed with SIGKILL mid-run and
replaced. Every paid order must end with exactly one invoice in its seller's entity, with
gapless numbering per seller.
"""

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from django.utils import timezone
from pytest_django.fixtures import Settings

from invoicing import services as invoicing
from invoicing.client import SpaceInvoicesClient
from invoicing.models import DocumentKind, Invoice, InvoiceState
from marketplace import services as orders
from marketplace.celery import app as celery_app
from marketplace.models import Product
from sellers.models import Seller, SellerStatus
from sellers.services import SellerDetails, seller_onboard
from tests.factories import UserFactory
from tests.integration.processes import (
    broker_url,
    kill_hard,
    start_sandbox,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "sk_sandbox_chaos"
SELLERS = 3
CHECKOUTS = 10  # one order per seller each: 30 orders
FAULTS = ["--error-rate", "0.10", "--timeout-rate", "0.05", "--lost-response-rate", "0.05",
          "--rate-limit-rate", "0.03", "--timeout-ms", "1500", "--seed", "20261129",
          "--rate-limit", "0"]  # fmt: skip
WORKER_ENV = {
    "SPACE_INVOICES_API_KEY": KEY,
    "SPACE_INVOICES_TIMEOUT": "1",
    "SPACE_INVOICES_RATE_LIMIT_PER_MIN": "0",
    "INVOICE_RETRY_BASE_DELAY": "0.2",
    "INVOICE_RETRY_MAX_DELAY": "2",
    "INVOICE_MAX_ATTEMPTS": "40",
    "SEND_DOCUMENTS_TO_BUYERS": "false",
}


@pytest.fixture
def faulty_sandbox(tmp_path: Path) -> Iterator[str]:
    process, url = start_sandbox(tmp_path / "sandbox.sqlite3", KEY, FAULTS)
    yield url
    stop(process)


def test_exactly_one_invoice_per_order_under_faults_and_crashes(
    faulty_sandbox: str, settings: Settings
) -> None:
    env = {**WORKER_ENV, "SPACE_INVOICES_URL": faulty_sandbox}
    workers = [start_worker(env), start_worker(env)]
    celery_app.conf.task_always_eager = False
    settings.INVOICE_PENDING_SWEEP_AFTER = timedelta(seconds=4)
    try:
        order_ids = _place_and_pay_orders()
        for index in range(len(workers)):  # crash each worker once, mid-run
            time.sleep(1.5)
            kill_hard(workers[index])
            workers[index] = start_worker(env)
        wait_for(lambda: _all_issued(order_ids), "every order's invoice", timeout=150)
    finally:
        celery_app.conf.task_always_eager = True
        for worker in workers:
            stop(worker)
        redis.Redis.from_url(broker_url()).delete(celery_app.conf.task_default_queue)

    retried = Invoice.objects.filter(order_id__in=order_ids, attempts__gt=1).count()
    assert retried > 0  # the faults did hit: some invoices needed more than one attempt
    httpx.post(f"{faulty_sandbox}/sandbox/faults", json={}, headers=_auth()).raise_for_status()
    client = SpaceInvoicesClient(base_url=faulty_sandbox, api_key=KEY)
    year = timezone.localdate().year
    expected: defaultdict[str, set[str]] = defaultdict(set)
    for invoice in Invoice.objects.filter(order_id__in=order_ids, kind=DocumentKind.INVOICE):
        expected[invoice.entity_id].add(str(invoice.order_id))
    assert sum(len(ids) for ids in expected.values()) == len(order_ids) == SELLERS * CHECKOUTS
    for entity_id, ids in expected.items():
        remote = list(client.invoice_iter(entity_id=entity_id))
        remote_order_ids = [document["metadata"]["order_id"] for document in remote]
        assert sorted(remote_order_ids) == sorted(ids)  # none missing, none twice
        assert sorted(str(document["number"]) for document in remote) == [
            f"{year}-{n:05d}" for n in range(1, len(ids) + 1)
        ]


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def _place_and_pay_orders() -> list[int]:
    sellers = [
        seller_onboard(
            details=SellerDetails(
                business_name=f"Chaos seller {n}", address="Main 1", post_code="1000",
                city="Ljubljana", country="SI", email=f"s{n}@example.com",
                tax_number="SI50223054",
            )
        )
        for n in range(SELLERS)
    ]  # fmt: skip
    wait_for(
        lambda: (
            Seller.objects.filter(
                pk__in=[s.pk for s in sellers], status=SellerStatus.ACTIVE
            ).count()
            == SELLERS
            or None
        ),
        "the sellers' entities",
    )
    products = [
        Product.objects.create(seller=seller, name="Mug", unit_price=Decimal("9.90"),
                               tax_rate=Decimal("22.00"))
        for seller in sellers
    ]  # fmt: skip
    buyer = UserFactory()
    billing = orders.BillingDetails(
        name="Ana Novak", email="ana@example.com", address="Prešernova 5", post_code="2000",
        city="Maribor", country="SI",
    )  # fmt: skip
    order_ids = []
    for _ in range(CHECKOUTS):
        checkout = orders.checkout_create(
            buyer=buyer, lines=[orders.CartLine(p.pk, 1) for p in products], billing=billing
        )
        for order in checkout.orders.all():
            orders.order_mark_paid(order_id=order.pk)
            order_ids.append(order.pk)
    return order_ids


def _all_issued(order_ids: list[int]) -> bool | None:
    invoicing.document_sweep_pending()  # what beat does every minute: re-drive stale rows
    issued = Invoice.objects.filter(
        order_id__in=order_ids, kind=DocumentKind.INVOICE, state=InvoiceState.ISSUED
    ).count()
    failed = Invoice.objects.filter(order_id__in=order_ids, state=InvoiceState.FAILED)
    assert not failed.exists(), list(failed.values_list("last_error", flat=True))
    if issued == len(order_ids):
        return True
    time.sleep(1)
    return None
