"""The first milestone, end to end: two sellers, one checkout, two invoices, one CSV.

Starts its own sandbox server and Celery worker beside this process, drives the marketplace
through its services as the API would, waits for the worker, and prints one JSON line.
Reporting's command because it drives every layer below and ends with reporting's CSV.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import ApplicationError
from invoicing import gateway
from invoicing.commission_invoices import (
    PayoutStatement,
    commission_documents_write,
    payout_statement_csv,
    payout_statements,
)
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.operator import operator_entity_ensure
from marketplace import services as orders
from marketplace.management.demo_sellers import DEMO_SELLERS
from marketplace.models import Order, Product
from reporting.exports import INVOICES, export_write
from reporting.selectors import ReportFilters
from sellers.models import Seller, SellerStatus
from sellers.onboarding import seller_onboard

WAIT_S = 120.0
T = TypeVar("T")

# Two sellers of different countries, one product each.
SELLERS = DEMO_SELLERS[:2]


class Command(BaseCommand):
    help = "Run the first milestone end to end and print its result as one JSON line."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--sandbox-port", type=int, default=8765)

    def handle(self, *args: object, sandbox_port: int, **options: object) -> None:
        call_command("migrate", verbosity=0)
        with self._sandbox(sandbox_port), self._worker():
            result = self._milestone()
        self.stdout.write(json.dumps(result))

    def _milestone(self) -> dict[str, Any]:
        sellers = [seller_onboard(details=seller.details) for seller in SELLERS]
        self._say("onboarded two sellers; waiting for their entities")
        sellers = _wait_for(lambda: _all_active(sellers), "the sellers' entities to be created")
        products = Product.objects.bulk_create(
            demo.products[0].build(seller) for demo, seller in zip(SELLERS, sellers, strict=True)
        )
        buyer, _ = get_user_model().objects.get_or_create(
            username="demo-buyer", defaults={"email": "buyer@example.com"}
        )
        checkout = orders.checkout_create(
            buyer=buyer,
            lines=[orders.CartLine(product_id=p.pk, quantity=2) for p in products],
            billing=orders.BillingDetails(
                name="Ana Novak",
                email="ana@example.com",
                address="Prešernova 5",
                post_code="2000",
                city="Maribor",
                country="SI",
            ),
        )
        for order in checkout.orders.order_by("pk"):
            orders.order_mark_paid(order_id=order.pk)
        self._say(f"checkout {checkout.pk} paid; waiting for the invoices")
        invoices = _wait_for(lambda: _all_issued(checkout.pk), "the invoices to be issued")
        export_path = settings.LOCAL_DIR / "invoices.csv"
        with export_path.open("w", newline="", encoding="utf-8") as stream:
            export_write(INVOICES, ReportFilters(), stream)
        return {
            "sellers": [{"id": s.pk, "entity_id": s.entity_id} for s in sellers],
            "invoices": [_invoice_summary(invoice) for invoice in invoices],
            "export_csv": str(export_path),
            **self._operator_month(checkout.pk, sellers),
        }

    def _operator_month(self, checkout_id: int, sellers: list[Seller]) -> dict[str, Any]:
        """The operator's side of the month: one unit of the first order refunded, then each
        seller's commission invoice and payout statement."""
        first = Order.objects.filter(checkout_id=checkout_id).order_by("pk").first()
        assert first is not None
        orders.order_refund(order_id=first.pk, lines=[orders.RefundLine(first.lines.get().pk, 1)])
        _wait_for(lambda: _credit_note_issued(first.pk), "the refund's credit note")
        try:
            operator = operator_entity_ensure()
        except ApplicationError as error:  # `make demo` sets a demo operator
            raise CommandError(f"{error.field}: {error.message}") from None
        self._say(f"operator entity {operator.entity_id}; writing this month's commission")
        period = timezone.localdate().replace(day=1)
        written = [
            document
            for seller in sellers
            for document in commission_documents_write(seller_id=seller.pk, period_start=period)
        ]
        commission = _wait_for(
            lambda: _all_issued_rows([d.pk for d in written]), "the commission invoices"
        )
        payouts = []
        for seller in sellers:
            statements = payout_statements(seller=seller, period_start=period)
            path = settings.LOCAL_DIR / f"payout-{seller.pk}-{period:%Y-%m}.csv"
            path.write_text(payout_statement_csv(statements), encoding="utf-8")
            payouts += [_payout_summary(statement, path) for statement in statements]
        return {
            "operator_entity_id": operator.entity_id,
            "commission_invoices": [_commission_summary(document) for document in commission],
            "payout_statements": payouts,
        }

    @contextmanager
    def _sandbox(self, port: int) -> Iterator[None]:
        command = [
            sys.executable,
            "-m",
            "invoicing.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--account-key",
            settings.SPACE_INVOICES_API_KEY,
            "--data",
            str(settings.LOCAL_DIR / "sandbox.sqlite3"),
        ]
        with _process(command):
            _wait_for(lambda: _healthy(settings.SPACE_INVOICES_URL), "the sandbox to start")
            self._say(f"sandbox listening on {settings.SPACE_INVOICES_URL}")
            yield

    @contextmanager
    def _worker(self) -> Iterator[None]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "2",
        ]
        with _process(command):
            self._say("celery worker started")
            yield

    def _say(self, message: str) -> None:
        self.stderr.write(f"demo: {message}")


@contextmanager
def _process(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, env=os.environ.copy())  # noqa: S603
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.25)
    raise CommandError(f"gave up waiting for {what} after {WAIT_S:.0f} s")


def _healthy(base_url: str) -> bool | None:
    try:
        return httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200 or None
    except httpx.TransportError:
        return None


def _all_active(sellers: list[Seller]) -> list[Seller] | None:
    fresh = list(Seller.objects.filter(pk__in=[s.pk for s in sellers]).order_by("pk"))
    if any(s.status == SellerStatus.FAILED for s in fresh):
        raise CommandError(f"entity creation failed: {[s.entity_error for s in fresh]}")
    return fresh if all(s.status == SellerStatus.ACTIVE for s in fresh) else None


def _all_issued(checkout_id: int) -> list[Document] | None:
    invoices = list(
        Document.objects.filter(order__checkout_id=checkout_id, kind=DocumentKind.INVOICE).order_by(
            "seller_id"
        )
    )
    if any(invoice.state == DocumentState.FAILED for invoice in invoices):
        raise CommandError(f"invoice failed: {[invoice.last_error for invoice in invoices]}")
    issued = [invoice for invoice in invoices if invoice.state == DocumentState.ISSUED]
    return invoices if len(invoices) == 2 and len(issued) == 2 else None


def _credit_note_issued(order_id: int) -> bool | None:
    return (
        Document.objects.filter(
            order_id=order_id, kind=DocumentKind.CREDIT_NOTE, state=DocumentState.ISSUED
        ).exists()
        or None
    )


def _all_issued_rows(ids: list[int]) -> list[Document] | None:
    documents = list(Document.objects.filter(pk__in=ids).order_by("seller_id", "pk"))
    if any(document.state == DocumentState.FAILED for document in documents):
        raise CommandError(f"commission failed: {[d.last_error for d in documents]}")
    return documents if all(d.state == DocumentState.ISSUED for d in documents) else None


def _commission_summary(document: Document) -> dict[str, Any]:
    return {
        "seller_id": document.seller_id,
        "entity_id": document.entity_id,
        "number": document.number,
        "transaction_type": document.transaction_type,
        "total_net": str(document.total_net),
        "total_tax": str(document.total_tax),
        "total_with_tax": str(document.total_gross),
    }


def _payout_summary(statement: PayoutStatement, path: Path) -> dict[str, Any]:
    return {
        "seller_id": statement.seller.pk,
        "seller": statement.seller.business_name,
        "period": f"{statement.period_start:%Y-%m}",
        "currency": statement.currency,
        "sales_gross": str(statement.sales_gross),
        "refunds_gross": str(statement.refunds_gross),
        "commission_net": str(statement.commission_net),
        "commission_vat": str(statement.commission_vat),
        "payout": str(statement.payout),
        "csv": str(path),
    }


def _invoice_summary(invoice: Document) -> dict[str, Any]:
    with gateway.space_invoices_client() as client:
        remote = client.invoice_get(entity_id=invoice.entity_id, invoice_id=str(invoice.remote_id))
    return {
        "seller_id": invoice.seller_id,
        "entity_id": remote["entity_id"],
        "number": remote["number"],
        "order_id": invoice.order_id,
        "metadata": remote["metadata"],
        "total_with_tax": str(remote["total_with_tax"]),
    }
