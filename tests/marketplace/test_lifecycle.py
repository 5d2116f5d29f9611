from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import AuditEvent
from invoicing import reconciliation
from invoicing.models import Document, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace import services
from marketplace.models import Order, OrderStatus
from marketplace.tax import EXPORT_NOTE
from tests.factories import (
    OrderFactory,
    ProductFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
    operator_user,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

BILLING = {
    "name": "Ana Novak",
    "email": "ana@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}


@pytest.fixture
def seller(sandbox):
    pending = SellerFactory(status="pending", entity_id=None)
    return seller_entity_create(seller_id=pending.pk)


@pytest.fixture
def buyer():
    return UserFactory(username="ana")


@pytest.fixture
def cashier():
    """An operator who records payments received offline."""
    return operator_user("marketplace.view_order", "marketplace.record_order_payment")


@pytest.fixture
def order(seller, buyer):
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    checkout = services.checkout_create(
        buyer=buyer,
        lines=[services.CartLine(product_id=product.pk, quantity=1)],
        billing=services.BillingDetails(**BILLING),
    )
    return checkout.orders.get()


def post(api_client, user, path):
    api_client.force_authenticate(user)
    return api_client.post(path, format="json")


def test_an_operator_records_the_payment_and_the_buyer_sees_the_issued_invoice(
    api_client, order, buyer, cashier, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, cashier, f"/api/orders/{order.pk}/pay/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "paid"

    api_client.force_authenticate(buyer)
    detail = api_client.get(f"/api/orders/{order.pk}/").json()
    [invoice] = detail["documents"]
    assert invoice["state"] == "issued"
    assert invoice["number"] == f"{timezone.localdate().year}-00001"
    assert invoice["total_gross"] == "12.20"

    link = api_client.get(f"/api/invoices/{invoice['id']}/link/")
    assert link.status_code == 200
    assert link.json()["url"].startswith("http://sandbox/share/")


def test_placed_trigger_invoices_at_checkout(
    settings, sandbox, seller, buyer, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "placed"
    product = ProductFactory(seller=seller)
    with django_capture_on_commit_callbacks(execute=True):
        checkout = services.checkout_create(
            buyer=buyer,
            lines=[services.CartLine(product_id=product.pk, quantity=1)],
            billing=services.BillingDetails(**BILLING),
        )
    assert Document.objects.get(order__checkout=checkout).state == DocumentState.ISSUED


def test_fulfilled_trigger_waits_for_fulfilment_and_dates_the_service(
    settings, sandbox, order, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "fulfilled"
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(order_id=order.pk)
    assert Document.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.order_fulfil(order_id=order.pk)

    invoice = Document.objects.get(order=order)
    assert invoice.state == DocumentState.ISSUED
    remote = sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)
    assert remote["date_service"] == timezone.localdate().isoformat()


def test_fulfilling_a_paid_order_does_not_invoice_it_twice(
    order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(order_id=order.pk)
        services.order_fulfil(order_id=order.pk)
    assert Document.objects.filter(order=order).count() == 1


def test_paying_a_cancelled_order_is_a_400_and_changes_nothing(api_client, order, buyer, cashier):
    assert post(api_client, buyer, f"/api/orders/{order.pk}/cancel/").status_code == 200

    response = post(api_client, cashier, f"/api/orders/{order.pk}/pay/")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "A cancelled order cannot become paid.",
        "field": "status",
        "code": "conflict",
    }
    order.refresh_from_db()
    assert (order.status, order.paid_at) == (OrderStatus.CANCELLED, None)
    assert Document.objects.count() == 0


def test_fulfilled_orders_cannot_be_cancelled_only_refunded(
    api_client, order, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(order_id=order.pk)
        services.order_fulfil(order_id=order.pk)
    response = post(api_client, buyer, f"/api/orders/{order.pk}/cancel/")
    assert response.status_code == 400
    assert response.json()["field"] == "status"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED


def test_other_buyers_cannot_see_or_pay_an_order(api_client, order):
    stranger = UserFactory(username="mallory")
    assert post(api_client, stranger, f"/api/orders/{order.pk}/pay/").status_code == 403
    assert api_client.get(f"/api/orders/{order.pk}/").status_code == 404
    assert api_client.get("/api/orders/").json()["results"] == []
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


def test_seller_staff_fulfil_their_own_orders_and_nobody_elses(
    api_client, order, seller, django_capture_on_commit_callbacks
):
    services.order_mark_paid(order_id=order.pk)
    other_sellers_editor = SellerUserFactory(role="editor").user
    viewer = SellerUserFactory(seller=seller, role="viewer").user
    editor = SellerUserFactory(seller=seller, role="editor").user

    assert (
        post(api_client, other_sellers_editor, f"/api/orders/{order.pk}/fulfil/").status_code == 404
    )
    assert post(api_client, viewer, f"/api/orders/{order.pk}/fulfil/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, editor, f"/api/orders/{order.pk}/fulfil/")
    assert response.status_code == 200
    assert response.json()["status"] == "fulfilled"


def test_buyers_cannot_fulfil(api_client, order, buyer):
    services.order_mark_paid(order_id=order.pk)
    assert post(api_client, buyer, f"/api/orders/{order.pk}/fulfil/").status_code == 404


def test_a_legacy_deemed_supply_is_paid_and_fulfilled_without_an_invoice_and_reported(
    api_client, sandbox, cashier, django_capture_on_commit_callbacks
):
    """Placed before checkout refused a non-EU seller's sale to an EU consumer: its payment and
    fulfilment go through, no seller invoice is written, and operators see why."""
    american = seller_with_entity(business_name="Maple & Co", country="US", tax_number="123456789")
    order = OrderFactory(
        seller=american,
        status=OrderStatus.PLACED,
        billing_country="DE",
        transaction_type="3w_b2c",
        reverse_charge=True,
        tax_note=EXPORT_NOTE,
        tax_rate_source="zero",
    )

    with django_capture_on_commit_callbacks(execute=True):
        paid = post(api_client, cashier, f"/api/orders/{order.pk}/pay/")
        fulfilled = services.order_fulfil(order_id=order.pk)
    findings = reconciliation.reconcile(client=sandbox.client())

    assert (paid.status_code, paid.json()["status"]) == (200, "paid")
    assert fulfilled.status == OrderStatus.FULFILLED
    assert Document.objects.filter(order=order).count() == 0
    reason = (
        f"Order {order.pk} is a sale of Maple & Co, a seller outside the EU, to a consumer in "
        "the EU: the marketplace is the deemed supplier (Article 14a of the VAT Directive), so "
        "the seller's invoice is not written."
    )
    assert list(
        AuditEvent.objects.filter(order_id=order.pk)
        .order_by("pk")
        .values_list("action", "seller_id", "detail")
    ) == [  # each transition at or past the invoice point says why nothing was written
        ("order.paid", american.pk, {}),
        ("invoice.not_written", american.pk, {"code": "deemed_supplier", "reason": reason}),
        ("order.fulfilled", american.pk, {}),
        ("invoice.not_written", american.pk, {"code": "deemed_supplier", "reason": reason}),
    ]
    assert [(f.kind, f.seller_id, f.order_id, f.detail) for f in findings] == [
        (
            "missing_invoice",
            american.pk,
            order.pk,
            "at its invoice point, no invoice: a deemed supply (Article 14a), the marketplace "
            "must invoice this sale",
        )
    ]
