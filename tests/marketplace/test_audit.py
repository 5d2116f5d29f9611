"""The audit trail: who did what to which seller, order and document, shown in admin."""

from decimal import Decimal

import pytest

from core.models import AuditEvent
from invoicing import services as invoicing_services
from invoicing.models import Document, DocumentState
from marketplace import services
from sellers.models import Seller
from tests.factories import BILLING, ProductFactory, UserFactory, operator_user, seller_with_entity

pytestmark = pytest.mark.django_db

SELLER = {
    "business_name": "Kovač d.o.o.",
    "address": "Slovenska 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "email": "office@kovac.example",
    "tax_number": "SI12345679",
}


def trail() -> list[tuple[str, str | None, int | None, int | None, int | None]]:
    """The audit events, oldest first, as (action, actor, seller, order, document)."""
    return [
        (event.action, event.actor.username if event.actor else None, *ids)
        for event in AuditEvent.objects.order_by("id")
        for ids in [(event.seller_id, event.order_id, event.document_id)]
    ]


@pytest.fixture
def seller(sandbox):
    return seller_with_entity()


def test_operator_onboarding_is_audited_with_the_operator_and_the_activation(
    api_client, sandbox, django_capture_on_commit_callbacks
):
    operator = operator_user("sellers.view_seller", "sellers.add_seller", username="olga")
    api_client.force_authenticate(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/sellers/", SELLER, format="json")
    assert response.status_code == 201, response.json()
    seller_id = response.json()["id"]

    assert trail() == [
        ("seller.onboarded", "olga", seller_id, None, None),
        ("seller.activated", None, seller_id, None, None),
    ]
    activated = AuditEvent.objects.get(action="seller.activated")
    assert activated.detail == {"entity_id": Seller.objects.get(pk=seller_id).entity_id}


def test_rejected_onboarding_writes_no_audit_event(api_client):
    api_client.force_authenticate(operator_user("sellers.view_seller", "sellers.add_seller"))
    response = api_client.post("/api/sellers/", {**SELLER, "country": "XX"}, format="json")
    assert response.status_code == 400
    assert AuditEvent.objects.count() == 0


def test_order_transitions_name_the_user_and_the_documents_the_system(
    api_client, seller, django_capture_on_commit_callbacks
):
    buyer = UserFactory(username="ana")
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    AuditEvent.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        checkout = services.checkout_create(
            buyer=buyer,
            lines=[services.CartLine(product_id=product.pk, quantity=1)],
            billing=BILLING,
        )
    order = checkout.orders.get()
    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.record_order_payment", username="olga")
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"/api/orders/{order.pk}/pay/").status_code == 200
    invoice = Document.objects.get(order=order)

    assert trail() == [
        ("order.placed", "ana", seller.pk, order.pk, None),
        ("order.paid", "olga", seller.pk, order.pk, None),
        ("document.issued", None, seller.pk, order.pk, invoice.pk),
    ]
    assert AuditEvent.objects.get(action="document.issued").detail == {
        "kind": "invoice",
        "number": invoice.number,
    }


def test_a_refused_transition_leaves_no_audit_event(api_client, seller):
    buyer = UserFactory()
    product = ProductFactory(seller=seller)
    checkout = services.checkout_create(
        buyer=buyer, lines=[services.CartLine(product_id=product.pk, quantity=1)], billing=BILLING
    )
    order = checkout.orders.get()
    services.order_cancel(order_id=order.pk, actor=buyer)
    before = AuditEvent.objects.count()
    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.record_order_payment")
    )

    response = api_client.post(f"/api/orders/{order.pk}/pay/")

    assert (response.status_code, response.json()["field"]) == (400, "status")
    assert AuditEvent.objects.count() == before


def test_failure_and_retry_of_a_document_are_audited(seller, django_capture_on_commit_callbacks):
    product = ProductFactory(seller=seller)
    checkout = services.checkout_create(
        buyer=UserFactory(),
        lines=[services.CartLine(product_id=product.pk, quantity=1)],
        billing=BILLING,
    )
    invoice = Document.objects.create(
        order=checkout.orders.get(), seller=seller, entity_id=seller.entity_id, kind="invoice"
    )
    operator = UserFactory(username="olga", is_staff=True)
    AuditEvent.objects.all().delete()

    invoicing_services.document_mark_failed(invoice_id=invoice.pk, reason="rejected: items")
    invoicing_services.document_mark_failed(invoice_id=invoice.pk, reason="again")
    invoicing_services.document_retry(invoice_id=invoice.pk, actor=operator)

    order_id = invoice.order_id
    assert trail() == [
        ("document.failed", None, seller.pk, order_id, invoice.pk),
        ("document.retried", "olga", seller.pk, order_id, invoice.pk),
    ]
    assert Document.objects.get(pk=invoice.pk).state == DocumentState.PENDING


def test_exports_are_audited_with_their_filters(api_client, seller):
    operator = operator_user("reporting.export_reports", username="olga")
    api_client.force_authenticate(operator)
    AuditEvent.objects.all().delete()

    response = api_client.get(
        "/api/reports/documents.csv",
        {"seller": seller.pk, "date_from": "2026-01-01", "date_to": "2026-01-31"},
    )
    assert response.status_code == 200, response.json()
    b"".join(response.streaming_content)

    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor, event.seller_id) == (
        "export.downloaded",
        operator,
        seller.pk,
    )
    assert event.detail == {
        "report": "documents",
        "filters": {"seller": seller.pk, "date_from": "2026-01-01", "date_to": "2026-01-31"},
    }


def test_admin_lists_and_filters_the_trail_but_never_edits_it(client):
    operator = UserFactory(username="olga", is_staff=True, is_superuser=True)
    AuditEvent.objects.create(action="order.paid", actor=operator, seller_id=7, order_id=70)
    AuditEvent.objects.create(action="seller.onboarded", actor=operator, seller_id=8)
    client.force_login(operator)

    paid_only = client.get("/admin/core/auditevent/", {"action": "order.paid"})
    by_seller = client.get("/admin/core/auditevent/", {"q": "8"})

    assert paid_only.status_code == 200
    assert [event.action for event in paid_only.context["cl"].result_list] == ["order.paid"]
    assert [event.seller_id for event in by_seller.context["cl"].result_list] == [8]
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    event = AuditEvent.objects.get(action="order.paid")
    change = client.post(f"/admin/core/auditevent/{event.pk}/change/", {"action": "x"})
    assert change.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "order.paid"


def test_admin_search_by_words_skips_the_id_columns(client):
    operator = UserFactory(username="olga", is_staff=True, is_superuser=True)
    AuditEvent.objects.create(action="order.paid", actor=operator, seller_id=7, order_id=70)
    client.force_login(operator)

    response = client.get("/admin/core/auditevent/", {"q": "olga paid"})

    assert response.status_code == 200
    assert [event.order_id for event in response.context["cl"].result_list] == [70]
