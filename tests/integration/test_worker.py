"""The milestone over real components: a Celery worker process, the sandbox server on a socket,
PostgreSQL and Redis. Nothing is mocked or run eagerly here."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import redis
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings

from invoicing.client import SpaceInvoicesClient
from invoicing.models import Invoice, InvoiceState
from marketplace import services as orders
from marketplace.celery import app as celery_app
from marketplace.models import Product
from sellers.models import Seller, SellerStatus
from sellers.services import SellerDetails, seller_onboard
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_sandbox_integration"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoicing.sandbox",
            "--port",
            str(port),
            "--account-key",
            KEY,
            "--data",
            str(tmp_path / "sandbox.sqlite3"),
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool | None:
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200 or None
        except httpx.TransportError:
            return None

    wait_for(healthy, "the sandbox server")
    yield url
    stop(process)


@pytest.fixture
def worker(sandbox_url: str, settings: Settings) -> Iterator[None]:
    """A real worker on this run's own queue, reading the test database."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.fail("The integration test needs Redis: set CELERY_BROKER_URL (make test does).")
    queue = celery_app.conf.task_default_queue
    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "SPACE_INVOICES_URL": sandbox_url,
        "SPACE_INVOICES_API_KEY": KEY,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "--queues",
            queue,
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    celery_app.conf.task_always_eager = False
    settings.SPACE_INVOICES_URL = sandbox_url
    settings.SPACE_INVOICES_API_KEY = KEY
    yield
    celery_app.conf.task_always_eager = True
    stop(process)
    redis.Redis.from_url(broker).delete(queue)


def test_worker_onboards_sellers_and_issues_their_invoices(worker: None, sandbox_url: str) -> None:
    sellers = [
        seller_onboard(
            details=SellerDetails(
                business_name=name,
                address="Main street 1",
                post_code=post_code,
                city=city,
                country=country,
                email=f"billing@{country.lower()}.example",
                tax_number=tax_number,
                primary_colour=colour,
            )
        )
        for name, post_code, city, country, tax_number, colour in [
            ("Alpine Crafts d.o.o.", "1000", "Ljubljana", "SI", "SI50223054", "#0B6E4F"),
            ("Berlin Books GmbH", "10117", "Berlin", "DE", "DE136695976", "#8B1E3F"),
        ]
    ]

    def all_active() -> list[Seller] | None:
        fresh = list(Seller.objects.filter(pk__in=[s.pk for s in sellers]).order_by("pk"))
        return fresh if all(s.status == SellerStatus.ACTIVE for s in fresh) else None

    sellers = wait_for(all_active, "both entities")
    products = [
        Product.objects.create(
            seller=seller,
            name=f"Item of {seller.pk}",
            unit_price=Decimal("10.00"),
            tax_rate=Decimal("20.00"),
        )
        for seller in sellers
    ]
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=3) for product in products],
        billing=orders.BillingDetails(
            name="Ana Novak",
            email="ana@example.com",
            address="Prešernova 5",
            post_code="2000",
            city="Maribor",
            country="SI",
        ),
    )
    for order in checkout.orders.all():
        orders.order_mark_paid(order_id=order.pk)

    def all_issued() -> list[Invoice] | None:
        invoices = list(Invoice.objects.filter(order__checkout=checkout).order_by("seller_id"))
        done = all(invoice.state == InvoiceState.ISSUED for invoice in invoices)
        return invoices if len(invoices) == 2 and done else None

    invoices = wait_for(all_issued, "both invoices")
    year = timezone.localdate().year
    client = SpaceInvoicesClient(base_url=sandbox_url, api_key=KEY)
    for seller, invoice in zip(sellers, invoices, strict=True):
        assert invoice.entity_id == seller.entity_id
        assert invoice.number == f"{year}-00001"
        assert invoice.total_gross == Decimal("36.00")
        remote = client.invoice_get(entity_id=seller.entity_id, invoice_id=invoice.remote_id)
        assert remote["metadata"] == {
            "order_id": str(invoice.order_id),
            "seller_id": str(seller.pk),
            "checkout_id": str(checkout.pk),
            "document_ref": f"mkt-invoice-{invoice.pk}",
        }
        assert remote["issuer"]["name"] == seller.business_name
