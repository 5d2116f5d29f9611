"""Reconciliation of the mirror with each seller's entity, on the sandbox."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from invoicing import reconciliation, services
from invoicing.models import Finding, Invoice
from marketplace import services as orders
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def paid_order(seller, callbacks, *, issue=True):
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
    )
    order = checkout.orders.get()
    with callbacks(execute=issue):
        orders.order_mark_paid(order_id=order.pk)
    return order


def test_findings_name_missing_unknown_and_duplicate_documents(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    clean = seller_with_entity()
    invoiced = paid_order(seller, django_capture_on_commit_callbacks)
    not_issued = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    paid_order(clean, django_capture_on_commit_callbacks)
    client = sandbox.client()
    invoice = Invoice.objects.get(order=invoiced)
    duplicate = client.invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(invoice),
        request_id="someone-else-issued-it-again",
    )
    stray = client.invoice_create(
        entity_id=seller.entity_id,
        payload={"items": [{"name": "Gift card", "quantity": 1, "price": Decimal("5.00")}],
                 "metadata": {"order_id": "not-ours"}},
        request_id="stray-document",
    )  # fmt: skip

    found = reconciliation.reconcile(client=client)

    assert sorted((f.seller_id, f.kind, f.order_id, f.remote_id, f.detail) for f in found) == [
        (seller.pk, "duplicate", invoiced.pk, "",
         f"2 invoices: {YEAR}-00001, {YEAR}-00002"),
        (seller.pk, "missing_invoice", not_issued.pk, "", "at its invoice point, no invoice"),
        (seller.pk, "unknown_document", None, stray["id"],
         f"{YEAR}-00003 names order 'not-ours', which {seller} does not have"),
    ]  # fmt: skip
    assert duplicate["number"] == f"{YEAR}-00002"
    assert Finding.objects.count() == 3


def test_a_new_run_replaces_the_last_runs_findings(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    assert [f.kind for f in reconciliation.reconcile(client=sandbox.client())] == [
        "missing_invoice"
    ]
    services.document_issue(invoice_id=Invoice.objects.get(order=order).pk)
    call_command("reconcile")
    assert Finding.objects.count() == 0


def test_gaps_are_found_per_series_from_one():
    series = reconciliation._Series({})
    series.add(["2026-00002", "2026-00005", "CN-2026-00001"])
    assert list(series.gaps()) == [
        ("2026-", "2026-00001"),
        ("2026-", "2026-00003"),
        ("2026-", "2026-00004"),
    ]


def test_findings_export_as_csv_from_admin(client, django_capture_on_commit_callbacks, sandbox):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    [finding] = reconciliation.reconcile(client=sandbox.client())
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/invoicing/finding/", {"action": "export_csv", "_selected_action": [finding.pk]}
    )

    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "run_at,seller_id,kind,order_id,remote_id,detail",
        f"{finding.run_at.isoformat()},{seller.pk},missing_invoice,{order.pk},,"
        '"at its invoice point, no invoice"',
    ]


def test_a_void_or_payment_the_mirror_missed_is_a_state_drift_finding(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    voided = Invoice.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    unpaid = Invoice.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    client = sandbox.client()
    void = client.invoice_void(
        entity_id=seller.entity_id,
        invoice_id=str(voided.remote_id),
        reason="issued by mistake",
        request_id="void-in-the-dashboard",
    )
    Invoice.objects.filter(pk=unpaid.pk).update(paid_at=None)  # as if the webhook was lost

    found = reconciliation.reconcile(client=client)

    assert sorted((f.kind, f.order_id, f.remote_id, f.detail) for f in found) == [
        ("state_drift", voided.order_id, voided.remote_id,
         f"{voided.number} was voided at {void['voided_at']}"),
        ("state_drift", unpaid.order_id, unpaid.remote_id, f"{unpaid.number} is paid in full"),
    ]  # fmt: skip


def test_recording_a_payment_marks_the_mirror_paid_so_no_drift_is_found(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
        )
    order = checkout.orders.get()
    assert Invoice.objects.get(order=order).paid_at is None
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice = Invoice.objects.get(order=order)

    assert invoice.payment_recorded_at is not None
    assert invoice.paid_at == invoice.payment_recorded_at
    assert reconciliation.reconcile(client=sandbox.client()) == []


def test_the_payment_of_an_invoice_voided_meanwhile_is_not_recorded(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
        )
    order = checkout.orders.get()
    Invoice.objects.filter(order=order).update(voided_at=timezone.now())  # as a webhook does

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice = Invoice.objects.get(order=order)
    assert (invoice.payment_recorded_at, invoice.paid_at) == (None, None)
    remote = sandbox.client().invoice_get(entity_id=seller.entity_id, invoice_id=invoice.remote_id)
    assert remote["total_paid"] == 0
