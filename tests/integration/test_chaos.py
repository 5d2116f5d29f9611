"""Exactly once for invoices, credit notes and payments while the API fails and forgets request
ids, workers crash, and an operator retries what gave up.

The sandbox server injects 10 % 5xx, 5 % timeouts, 5 % lost responses (the write done, the
answer dropped) and 3 % 429s, and forgets every request id after a second
(``--idempotency-ttl 1``), so a retry after a lost answer finds its document only by looking it
up. Three sellers, one invoicing at payment (the payment goes inline) and two at placement (so a
later payment goes through ``POST /payments``), get orders that are paid, refunded, refunded and
then cancelled, or cancelled unpaid, while each of the two workers is SIGKILLed once and replaced.

Then every answer is lost for a while: the invoices and credit notes created meanwhile exist in
Space Invoices but run out of attempts and are marked failed here, and payments are posted
without an answer; both workers are then killed, taking the payments' pending retries with them,
so only the sweeper (run here as beat would) can drive those again. With the faults back to
normal, orders whose refund's credit note gave up are cancelled (which must credit only what
that note did not), and the operator retries every failed row as the admin action does.

It ends asserting, per seller entity: one invoice per invoiced order and none for the others,
every local row issued and mirroring a remote document (none missing on either side), credit
notes crediting exactly what was refunded or cancelled and never more than invoiced, gapless
numbering of invoices and of credit notes, and every payment recorded exactly once.
"""

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone
from pytest_django.fixtures import Settings

from invoicing import services as invoicing
from invoicing import tasks
from invoicing.client import Document as RemoteDocument
from invoicing.client import SpaceInvoicesClient
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from marketplace.celery import app as celery_app
from marketplace.models import Order, Product, TaxCategory
from sellers.models import Seller, SellerStatus
from sellers.onboarding import SellerDetails, seller_onboard
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
MAX_ATTEMPTS = 5
FAULTS: dict[str, Any] = {
    "error_rate": 0.10,
    "timeout_rate": 0.05,
    "lost_response_rate": 0.05,
    "rate_limit_rate": 0.03,
    "timeout_ms": 1500,
    "idempotency_ttl": 1,
}
ALL_ANSWERS_LOST: dict[str, Any] = {"lost_response_rate": 1, "idempotency_ttl": 1}
FAULT_FLAGS = ["--error-rate", "0.10", "--timeout-rate", "0.05", "--lost-response-rate", "0.05",
               "--rate-limit-rate", "0.03", "--timeout-ms", "1500", "--idempotency-ttl", "1",
               "--seed", "20261205", "--rate-limit", "0"]  # fmt: skip
WORKER_ENV = {
    "SPACE_INVOICES_API_KEY": KEY,
    "SPACE_INVOICES_TIMEOUT": "1",
    "SPACE_INVOICES_RATE_LIMIT_PER_MIN": "0",
    "INVOICE_RETRY_BASE_DELAY": "0.2",
    "INVOICE_RETRY_MAX_DELAY": "2",
    "INVOICE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "SEND_DOCUMENTS_TO_BUYERS": "false",
}
# Seller 0 invoices at payment, sellers 1 and 2 at placement.
TRIGGERS = ["paid", "placed", "placed"]
# Each order: 2 mugs at 10.00 + 22 % and 1 tea at 4.00 + 9.5 %, so every amount is exact.
GROSS = {"Mug": Decimal("12.20"), "Tea": Decimal("4.38")}
QUANTITIES = {"Mug": 2, "Tea": 1}
ORDER_GROSS = Decimal("28.78")
# What happens to the orders (one per seller) of each checkout placed before the answers are lost.
PLANS = [
    "pay",
    "pay, refund a mug",
    "pay, refund a mug, cancel",
    "cancel unpaid",
    "pay; refund a mug while answers are lost; cancel after",
    "pay while answers are lost",
]
# And of the one checkout placed and paid while every answer is lost.
LOST_PLAN = "place and pay while answers are lost"
Remote = dict[str, Any]


@dataclass
class Expected:
    """What Space Invoices must hold for one order in the end."""

    seller: int
    invoiced: bool = False
    paid: bool = False
    credited: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def faulty_sandbox(tmp_path: Path) -> Iterator[str]:
    process, url = start_sandbox(tmp_path / "sandbox.sqlite3", KEY, FAULT_FLAGS)
    yield url
    stop(process)


def test_exactly_once_for_every_document_and_payment_under_faults_crashes_and_retries(
    faulty_sandbox: str, settings: Settings
) -> None:
    env = {**WORKER_ENV, "SPACE_INVOICES_URL": faulty_sandbox}
    workers = [start_worker(env), start_worker(env)]
    celery_app.conf.task_always_eager = False
    settings.INVOICE_PENDING_SWEEP_AFTER = timedelta(seconds=4)
    settings.INVOICE_MAX_ATTEMPTS = MAX_ATTEMPTS  # what document_retry compares attempts with
    operator = UserFactory(is_staff=True)
    try:
        products = _sellers_and_products()
        expected: dict[int, Expected] = {}
        by_plan: defaultdict[str, list[Order]] = defaultdict(list)
        for plan in PLANS:
            for order in _checkout(products):
                expected[order.pk] = Expected(seller=_seller_index(products, order))
                by_plan[plan].append(order)
                _act(plan, "before", order, expected[order.pk])
        for index in range(len(workers)):  # crash each worker once, mid-run
            time.sleep(1.5)
            kill_hard(workers[index])
            workers[index] = start_worker(env)
        _wait_settled(list(expected), operator, timeout=90)
        retried = Document.objects.filter(order_id__in=expected, attempts__gt=1).exists()

        _configure(faulty_sandbox, ALL_ANSWERS_LOST)
        for order in _checkout(products):
            expected[order.pk] = Expected(seller=_seller_index(products, order))
            by_plan[LOST_PLAN].append(order)
            _act(LOST_PLAN, "lost", order, expected[order.pk])
        for plan in PLANS:
            for order in by_plan[plan]:
                _act(plan, "lost", order, expected[order.pk])
        gave_up = _documents_expected_to_give_up(by_plan, expected)
        wait_for(
            lambda: gave_up <= _failed(list(expected)) or None,
            "the documents created while answers were lost to give up",
            timeout=60,
        )
        failed_while_lost = _failed(list(expected))
        posted_while_lost = _payments_unrecorded(by_plan["pay while answers are lost"])
        for index in range(len(workers)):  # crash both: the retries they hold are lost with them
            kill_hard(workers[index])
            workers[index] = start_worker(env)

        _configure(faulty_sandbox, {**FAULTS, "seed": 20261206})
        for plan in PLANS:
            for order in by_plan[plan]:
                _act(plan, "after", order, expected[order.pk])
        _wait_settled(list(expected), operator, timeout=120)
    finally:
        celery_app.conf.task_always_eager = True
        for worker in workers:
            stop(worker)
        redis.Redis.from_url(broker_url()).delete(celery_app.conf.task_default_queue)

    assert retried  # the faults did hit: some documents needed more than one attempt
    assert failed_while_lost == gave_up  # 3 invoices of the last checkout, 1 of a late payment,
    assert len(gave_up) == 7  # and 3 credit notes: all created there, all failed here
    # The late payments at sellers invoicing at placement were posted there, unrecorded here.
    assert posted_while_lost == [
        o.pk
        for o in by_plan["pay while answers are lost"]
        if TRIGGERS[expected[o.pk].seller] == "placed"
    ]
    _configure(faulty_sandbox, {})
    client = SpaceInvoicesClient(base_url=faulty_sandbox, api_key=KEY)
    entities = [str(seller.entity_id) for seller in _sellers(products)]
    invoices = {e: [_raw(d) for d in client.invoice_iter(entity_id=e)] for e in entities}
    credit_notes = {e: [_raw(d) for d in client.credit_note_iter(entity_id=e)] for e in entities}

    remote = _remote_per_order(invoices, credit_notes, expected)
    assert _violations(remote, expected, invoices, credit_notes) == {
        "orders with more than one invoice": [],
        "invoiced orders without an invoice": [],
        "over-credited invoices": [],
        "paid orders not paid exactly once": [],
    }
    assert remote == {order_id: _expected_remote(e) for order_id, e in expected.items()}
    year = timezone.localdate().year
    for entity in entities:
        assert [d["number"] for d in invoices[entity]] == [
            f"{year}-{n:05d}" for n in range(1, len(invoices[entity]) + 1)
        ]
        assert [d["number"] for d in credit_notes[entity]] == [
            f"CN-{year}-{n:05d}" for n in range(1, len(credit_notes[entity]) + 1)
        ]
    _assert_mirror(expected, invoices, credit_notes)


def _raw(document: RemoteDocument) -> Remote:
    """A document as the API answered it, payments included (not in the client's type)."""
    return cast(Remote, document)


def _configure(url: str, faults: dict[str, Any]) -> None:
    response = httpx.post(
        f"{url}/sandbox/faults", json=faults, headers={"Authorization": f"Bearer {KEY}"}
    )
    response.raise_for_status()


def _sellers_and_products() -> list[tuple[Product, Product]]:
    """Three active sellers (see TRIGGERS), each with a mug and a tea."""
    sellers = [
        seller_onboard(
            details=SellerDetails(
                business_name=f"Chaos seller {n}", address="Main 1", post_code="1000",
                city="Ljubljana", country="SI", email=f"s{n}@example.com",
                tax_number="SI50223054",
            )
        )
        for n in range(len(TRIGGERS))
    ]  # fmt: skip
    for seller, trigger in zip(sellers, TRIGGERS, strict=True):
        Seller.objects.filter(pk=seller.pk).update(invoice_trigger=trigger)
    wait_for(
        lambda: (
            Seller.objects.filter(
                pk__in=[s.pk for s in sellers], status=SellerStatus.ACTIVE
            ).count()
            == len(sellers)
            or None
        ),
        "the sellers' entities",
    )
    return [
        (
            Product.objects.create(seller=seller, name="Mug", unit_price=Decimal("10.00")),
            Product.objects.create(seller=seller, name="Tea", unit_price=Decimal("4.00"),
                                   tax_category=TaxCategory.REDUCED),
        )
        for seller in sellers
    ]  # fmt: skip


def _sellers(products: list[tuple[Product, Product]]) -> list[Seller]:
    return [Seller.objects.get(pk=mug.seller_id) for mug, _ in products]


def _seller_index(products: list[tuple[Product, Product]], order: Order) -> int:
    return [mug.seller_id for mug, _ in products].index(order.seller_id)


def _checkout(products: list[tuple[Product, Product]]) -> list[Order]:
    """One checkout of 2 mugs and 1 tea of every seller: its orders, by seller."""
    buyer = UserFactory()
    billing = orders.BillingDetails(
        name="Ana Novak", email="ana@example.com", address="Prešernova 5", post_code="2000",
        city="Maribor", country="SI",
    )  # fmt: skip
    lines = [
        orders.CartLine(product.pk, QUANTITIES[product.name])
        for pair in products
        for product in pair
    ]
    checkout = orders.checkout_create(buyer=buyer, lines=lines, billing=billing)
    return list(checkout.orders.order_by("seller_id"))


def _act(plan: str, phase: str, order: Order, expected: Expected) -> None:
    """Do what ``plan`` does to ``order`` in ``phase`` (before, lost, after), and note what
    Space Invoices must then hold."""
    placed_trigger = TRIGGERS[expected.seller] == "placed"
    steps = {
        ("pay", "before"): ["pay"],
        ("pay, refund a mug", "before"): ["pay", "refund"],
        ("pay, refund a mug, cancel", "before"): ["pay", "refund", "cancel"],
        ("cancel unpaid", "before"): ["cancel"],
        ("pay; refund a mug while answers are lost; cancel after", "before"): ["pay"],
        ("pay; refund a mug while answers are lost; cancel after", "lost"): ["refund"],
        ("pay; refund a mug while answers are lost; cancel after", "after"): ["cancel"],
        ("pay while answers are lost", "lost"): ["pay"],
        (LOST_PLAN, "lost"): ["pay"],
    }.get((plan, phase), [])
    if phase in ("before", "lost") and placed_trigger:
        expected.invoiced = True
    for step in steps:
        if step == "pay":
            orders.order_mark_paid(order_id=order.pk)
            expected.invoiced = expected.paid = True
        elif step == "refund":
            mug = order.lines.get(name="Mug")
            orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug.pk, 1)])
            expected.credited["Mug"] += 1
        else:
            orders.order_cancel(order_id=order.pk)
            if expected.invoiced:
                expected.credited = Counter(QUANTITIES)


def _documents_expected_to_give_up(
    by_plan: dict[str, list[Order]], expected: dict[int, Expected]
) -> set[int]:
    """The rows written while every answer is lost (created remotely, failed here): the last
    checkout's invoices, the invoice of a late payment at a seller invoicing at payment, and
    the credit notes of the refunds."""
    invoiced = [o.pk for o in by_plan[LOST_PLAN]] + [
        o.pk
        for o in by_plan["pay while answers are lost"]
        if TRIGGERS[expected[o.pk].seller] == "paid"
    ]
    refunded = [o.pk for o in by_plan["pay; refund a mug while answers are lost; cancel after"]]
    documents = Document.objects.filter(
        Q(order_id__in=invoiced, kind=DocumentKind.INVOICE)
        | Q(order_id__in=refunded, kind=DocumentKind.CREDIT_NOTE)
    )
    return set(documents.values_list("pk", flat=True))


def _payments_unrecorded(placed_orders: list[Order]) -> list[int]:
    """The orders among these whose invoice is issued and whose payment is not recorded."""
    return list(
        Document.objects.filter(
            order__in=placed_orders,
            kind=DocumentKind.INVOICE,
            state=DocumentState.ISSUED,
            payment_recorded_at__isnull=True,
        )
        .order_by("order_id")
        .values_list("order_id", flat=True)
    )


def _failed(order_ids: list[int]) -> set[int]:
    return set(
        Document.objects.filter(order_id__in=order_ids, state=DocumentState.FAILED).values_list(
            "pk", flat=True
        )
    )


def _unsettled(order_ids: list[int]) -> list[str]:
    documents = Document.objects.filter(order_id__in=order_ids)
    not_issued = documents.exclude(state=DocumentState.ISSUED)
    unpaid = documents.filter(
        kind=DocumentKind.INVOICE, order__paid_at__isnull=False, payment_recorded_at__isnull=True
    )
    return [f"{d} of order {d.order_id} not issued" for d in not_issued] + [
        f"payment of order {d.order_id} not recorded" for d in unpaid
    ]


def _wait_settled(order_ids: list[int], operator: User, timeout: float) -> None:
    """Run the sweeper (as beat would) and retry failed rows (as the operator would in admin)
    until every document is issued and every payment recorded, or ``timeout`` passes (the
    assertions then say what is missing)."""
    deadline = time.monotonic() + timeout
    while _unsettled(order_ids) and time.monotonic() < deadline:
        tasks.sweep_pending()
        for invoice_id in _failed(order_ids):
            invoicing.document_retry(invoice_id=invoice_id, actor=operator)
        time.sleep(1)


def _remote_per_order(
    invoices: dict[str, list[Remote]],
    credit_notes: dict[str, list[Remote]],
    expected: dict[int, Expected],
) -> dict[int, dict[str, Any]]:
    """Per order: its remote invoices, what its credit notes credit and its payments."""
    remote: dict[int, dict[str, Any]] = {
        order_id: {"invoices": 0, "credited": Counter(), "credited_gross": Decimal(0),
                   "payments": []}
        for order_id in expected
    }  # fmt: skip
    for document in (d for documents in invoices.values() for d in documents):
        summary = remote[int(document["metadata"]["order_id"])]
        summary["invoices"] += 1
        summary["payments"] += [Decimal(p["amount"]) for p in document["payments"]]
    for document in (d for documents in credit_notes.values() for d in documents):
        summary = remote[int(document["metadata"]["order_id"])]
        for item in document["items"]:
            summary["credited"][item["name"]] += int(item["quantity"])
        summary["credited_gross"] += Decimal(document["total_with_tax"])
    return remote


def _expected_remote(expected: Expected) -> dict[str, Any]:
    return {
        "invoices": int(expected.invoiced),
        "credited": expected.credited,
        "credited_gross": sum((GROSS[name] * n for name, n in expected.credited.items()),
                              Decimal(0)),
        "payments": [ORDER_GROSS] if expected.paid else [],
    }  # fmt: skip


def _violations(
    remote: dict[int, dict[str, Any]],
    expected: dict[int, Expected],
    invoices: dict[str, list[Remote]],
    credit_notes: dict[str, list[Remote]],
) -> dict[str, list[Any]]:
    """The invariants, from Space Invoices' documents alone (the local mirror not trusted)."""
    by_remote_id = {d["id"]: d for documents in invoices.values() for d in documents}
    credited: defaultdict[str, Counter[str]] = defaultdict(Counter)
    credited_gross: defaultdict[str, Decimal] = defaultdict(Decimal)
    for document in (d for documents in credit_notes.values() for d in documents):
        (invoice_id,) = document["linked_documents"]
        for item in document["items"]:
            credited[invoice_id][item["name"]] += int(item["quantity"])
        credited_gross[invoice_id] += Decimal(document["total_with_tax"])
    over_credited = []
    for invoice_id in credited:
        invoice = by_remote_id[invoice_id]
        invoiced = Counter({item["name"]: int(item["quantity"]) for item in invoice["items"]})
        if credited[invoice_id] - invoiced or credited_gross[invoice_id] > Decimal(
            invoice["total_with_tax"]
        ):
            over_credited.append((int(invoice["metadata"]["order_id"]), dict(credited[invoice_id])))
    return {
        "orders with more than one invoice": [o for o, s in remote.items() if s["invoices"] > 1],
        "invoiced orders without an invoice": [
            o for o, s in remote.items() if expected[o].invoiced and s["invoices"] == 0
        ],
        "over-credited invoices": over_credited,
        "paid orders not paid exactly once": [
            (o, s["payments"])
            for o, s in remote.items()
            if expected[o].paid and s["payments"] != [ORDER_GROSS]
        ],
    }


def _assert_mirror(
    expected: dict[int, Expected],
    invoices: dict[str, list[Remote]],
    credit_notes: dict[str, list[Remote]],
) -> None:
    """Every local row is issued and names a remote document, and every remote one has a row."""
    assert _unsettled(list(expected)) == []
    for kind, remote in (
        (DocumentKind.INVOICE, invoices),
        (DocumentKind.CREDIT_NOTE, credit_notes),
    ):
        mirrored = Document.objects.filter(order_id__in=expected, kind=kind)
        assert sorted(mirrored.values_list("remote_id", flat=True)) == sorted(
            d["id"] for documents in remote.values() for d in documents
        )
