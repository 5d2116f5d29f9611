"""The pay callback writes each order's "order.paid" and "payment.confirmed" in one INSERT."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from marketplace.models import Checkout
from tests.storefront.conftest import add, checkout_post
from tests.storefront.test_payment import provider_forms

pytestmark = pytest.mark.django_db


def test_each_order_s_paid_and_confirmed_events_are_one_insert(client, products):
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )
    checkout = Checkout.objects.get()
    pay, _ = provider_forms(client, checkout)

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/payments/callback/", pay)

    assert response.status_code == 302
    audit_inserts = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('INSERT INTO "marketplace_auditevent"')
    ]
    assert len(audit_inserts) == 2  # one per order, two events each
    orders = list(checkout.orders.order_by("pk"))
    events = AuditEvent.objects.filter(action__in=["order.paid", "payment.confirmed"]).order_by(
        "pk"
    )
    detail = {"checkout_id": checkout.pk, "payment_id": pay["payment_id"]}
    assert [(e.action, e.order_id, e.seller_id, e.actor_id, e.detail) for e in events] == [
        (action, order.pk, order.seller_id, None, event_detail)
        for order in orders
        for action, event_detail in (("order.paid", {}), ("payment.confirmed", detail))
    ]
