"""The milestone over real components: a Celery worker process, the sandbox server on a socket,
PostgreSQL and Redis. Nothing is mocked or run eagerly here."""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.utils import timezone
from pytest_django.fixtures import Settings

from invoicing.client import SpaceInvoicesClient
from invoicing.models import Document, DocumentState
from marketplace import services as orders
from marketplace.celery import app as celery_app
from marketplace.models import Product
from sellers.models import Seller, SellerStatus
from sellers.onboarding import SellerDetails, seller_onboard
from tests.factories import UserFactory
from tests.integration.processes import broker_url, start_sandbox, start_worker, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "sk_sandbox_integration"


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    process, url = start_sandbox(tmp_path / "sandbox.sqlite3", KEY)
    yield url
    stop(process)


@pytest.fixture
def worker(sandbox_url: str, settings: Settings) -> Iterator[None]:
    """A real worker; the test process enqueues to it through Redis."""
    process = start_worker({"SPACE_INVOICES_URL": sandbox_url, "SPACE_INVOICES_API_KEY": KEY})
    celery_app.conf.task_always_eager = False
    settings.SPACE_INVOICES_URL = sandbox_url
    settings.SPACE_INVOICES_API_KEY = KEY
    yield
    celery_app.conf.task_always_eager = True
    stop(process)
    redis.Redis.from_url(broker_url()).delete(celery_app.conf.task_default_queue)


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

    def all_issued() -> list[Document] | None:
        invoices = list(Document.objects.filter(order__checkout=checkout).order_by("seller_id"))
        done = all(invoice.state == DocumentState.ISSUED for invoice in invoices)
        return invoices if len(invoices) == 2 and done else None

    invoices = wait_for(all_issued, "both invoices")
    year = timezone.localdate().year
    client = SpaceInvoicesClient(base_url=sandbox_url, api_key=KEY)
    # 3 x 10.00 at the sellers' standard rates: Slovenia's 22 % (domestic) and Germany's 19 %
    # (an intra-EU B2C sale at the seller's rate, under the distance-sales threshold).
    for seller, invoice, gross in zip(sellers, invoices, ["36.60", "35.70"], strict=True):
        assert invoice.entity_id == seller.entity_id
        assert invoice.number == f"{year}-00001"
        assert invoice.total_gross == Decimal(gross)
        remote = client.invoice_get(entity_id=seller.entity_id, invoice_id=invoice.remote_id)
        assert remote["metadata"] == {
            "order_id": str(invoice.order_id),
            "seller_id": str(seller.pk),
            "checkout_id": str(checkout.pk),
            "document_ref": f"mkt-invoice-{invoice.pk}",
        }
        assert remote["issuer"]["name"] == seller.business_name
