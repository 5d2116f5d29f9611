"""A real worker takes the web request's id from the task message and logs with it."""

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from pytest_django.fixtures import Settings

from invoicing.models import Document, DocumentState
from marketplace import services as orders
from marketplace.celery import app as celery_app
from tests.factories import ProductFactory, UserFactory, operator_user, seller_with_entity
from tests.integration.processes import broker_url, start_sandbox, start_worker, stop, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "sk_sandbox_integration"


@pytest.fixture
def worker_log(tmp_path: Path, settings: Settings) -> Iterator[Path]:
    """A sandbox server and a real worker writing JSON log lines to the file yielded."""
    sandbox, url = start_sandbox(tmp_path / "sandbox.sqlite3", KEY)
    path = tmp_path / "worker.log"
    with path.open("wb") as log:
        worker = start_worker(
            {"SPACE_INVOICES_URL": url, "SPACE_INVOICES_API_KEY": KEY, "LOG_FORMAT": "json"},
            log=log,
        )
    celery_app.conf.task_always_eager = False
    settings.SPACE_INVOICES_URL = url
    settings.SPACE_INVOICES_API_KEY = KEY
    yield path
    celery_app.conf.task_always_eager = True
    stop(worker)
    stop(sandbox)
    redis.Redis.from_url(broker_url()).delete(celery_app.conf.task_default_queue)


def test_the_worker_logs_the_issuance_with_the_id_of_the_request_that_paid(api_client, worker_log):
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=1)],
        billing=orders.BillingDetails(
            name="Ana Novak",
            email="ana@example.com",
            address="Prešernova 5",
            post_code="2000",
            city="Maribor",
            country="SI",
        ),
    )
    order = checkout.orders.get()
    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.record_order_payment")
    )

    paid = api_client.post(
        f"/api/orders/{order.pk}/pay/", format="json", headers={"X-Request-Id": "pay-worker-5e1"}
    )

    assert paid.status_code == 200, paid.json()
    invoice = wait_for(
        lambda: Document.objects.filter(order=order, state=DocumentState.ISSUED).first(),
        "the invoice issued by the worker",
    )
    assert invoice.correlation_id == "pay-worker-5e1"
    issued = f"document {invoice.pk} issued as {invoice.remote_id} in {seller.entity_id}"

    def records() -> list[dict[str, str]] | None:
        lines = worker_log.read_text().splitlines()
        found = [json.loads(line) for line in lines if line.startswith("{")]
        return found if any(r["message"] == issued for r in found) else None

    story = [
        (r["logger"], r["message"].split(" status=")[0], r.get("request_id"))
        for r in wait_for(records, "the worker's log line of the issuance")
        if r["logger"] in {"invoicing.client", "invoicing.services"}
    ]
    assert story[:2] == [
        ("invoicing.client", "space_invoices POST /invoices", "pay-worker-5e1"),
        ("invoicing.services", issued, "pay-worker-5e1"),
    ]
