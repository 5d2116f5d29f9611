# ruff: noqa: E501  (the treatments read best one sale per line)
"""One tax decision per document: recorded on the row, and everything sent derives from it.

Through checkout and the in-process sandbox: the transaction type Space Invoices records equals
the row's for every treatment; a VIES answer that changed between checkout and issue changes
the whole document (and its credit notes), never what the buyer is recorded as having paid.
"""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from core.models import AuditEvent
from invoicing import services
from invoicing.admin_dashboard import HELD_BY_VIES, HELD_FOR_OPERATOR
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from marketplace.tax import EXPORT_NOTE, NO_VAT_NOTE, REVERSE_CHARGE_NOTE, ViesResult
from tests.factories import (
    OrderFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

REGISTERED_DE = "DE136695976"  # in the sandbox's VIES table
UNREGISTERED_DE = "DE123456788"  # checksum-valid, not registered
SWISS_VAT = "CHE-116.281.710 MWST"


def billing(country, company="", vat_number=""):
    return orders.BillingDetails(
        name="Max Muster",
        email="max@example.com",
        address="Hauptstraße 1",
        post_code="10115",
        city="Berlin",
        country=country,
        company=company,
        vat_number=vat_number,
    )


def place(seller, details):
    """2 x 80.00 at the seller's 22 %."""
    product = ProductFactory(seller=seller, name="Lamp", unit_price=Decimal("80.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=2)],
        billing=details,
    )
    return checkout.orders.get()


def remote(sandbox, document):
    client = sandbox.client()
    if document.kind == DocumentKind.CREDIT_NOTE:
        return client.credit_note_get(
            entity_id=document.entity_id, credit_note_id=document.remote_id
        )
    return client.invoice_get(entity_id=document.entity_id, invoice_id=document.remote_id)


def documents(order):
    invoice = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    credit_notes = list(Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE))
    return invoice, credit_notes


def vies_said_valid_at_checkout(number):
    """The day-old cached answer checkout relies on: VIES no longer says so at issue time."""
    cache.set(f"vies:{number}", ViesResult(valid=True, checked_at=timezone.now()))


# seller: country, tax subject | buyer: country, company, VAT number |
# the row's transaction type, the customer's tax number sent, is_end_consumer, note
TREATMENTS = [
    ("SI", True, "SI", "", "", "domestic", None, True, None),
    ("SI", True, "SI", "Novak d.o.o.", "SI50223054", "domestic", "SI50223054", False, None),
    ("SI", True, "DE", "Muster GmbH", REGISTERED_DE, "intra_eu_b2b", REGISTERED_DE, False, REVERSE_CHARGE_NOTE),
    # Well-formed but unknown to VIES: charged VAT, so sent as an end consumer without a number.
    ("SI", True, "DE", "Muster GmbH", UNREGISTERED_DE, "intra_eu_b2c", None, True, None),
    ("SI", True, "DE", "", "", "intra_eu_b2c", None, True, None),
    ("SI", True, "CH", "Muster AG", SWISS_VAT, "3w_b2b", "CHE116281710MWST", False, EXPORT_NOTE),
    ("SI", True, "CH", "Muster AG", "", "3w_b2c", None, True, EXPORT_NOTE),
    ("SI", True, "US", "", "", "3w_b2c", None, True, EXPORT_NOTE),
    ("SI", False, "SI", "Novak d.o.o.", "SI50223054", "domestic", "SI50223054", False, NO_VAT_NOTE),
    ("SI", False, "DE", "Muster GmbH", REGISTERED_DE, "intra_eu_b2c", None, True, NO_VAT_NOTE),
    ("SI", False, "US", "", "", "3w_b2c", None, True, NO_VAT_NOTE),
    ("US", True, "DE", "Muster GmbH", REGISTERED_DE, "3w_b2b", REGISTERED_DE, False, EXPORT_NOTE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seller_country", "tax_subject", "country", "company", "vat_number", "transaction_type",
     "tax_number", "is_end_consumer", "note"),
    TREATMENTS,
)  # fmt: skip
def test_space_invoices_records_the_rows_transaction_type_for_every_treatment(
    sandbox, django_capture_on_commit_callbacks,
    seller_country, tax_subject, country, company, vat_number, transaction_type,
    tax_number, is_end_consumer, note,
):  # fmt: skip
    seller = seller_with_entity(
        country=seller_country,
        is_tax_subject=tax_subject,
        tax_number={"SI": "SI50223054", "US": "123456789"}[seller_country],
    )
    order = place(seller, billing(country, company, vat_number))
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(order.lines.get().pk, 1)])

    invoice, [credit_note] = documents(order)
    for document in (invoice, credit_note):
        answer = remote(sandbox, document)
        assert document.state == DocumentState.ISSUED
        assert document.transaction_type == transaction_type
        assert answer["transaction_type"] == transaction_type
        assert (answer["customer"]["tax_number"], answer["customer"]["is_end_consumer"]) == (
            tax_number,
            is_end_consumer,
        )
        assert answer["note"] == note


@pytest.fixture
def seller(sandbox):
    return seller_with_entity(business_name="Lučka Lamps d.o.o.")


def test_a_vies_answer_changed_at_issue_changes_the_whole_document_and_its_credit_notes(
    settings, sandbox, seller, django_capture_on_commit_callbacks
):
    """Checkout said reverse charge; at issue VIES knows no such number. The invoice charges
    VAT, names no note and no business, and the buyer pays what checkout asked: that is what
    is recorded, and the rest stays due. The credit note follows the invoice, not the order."""
    settings.INVOICE_TRIGGER = "placed"
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))
    assert (order.transaction_type, order.reverse_charge, order.total_gross) == (
        "intra_eu_b2b",
        True,
        Decimal("160.00"),
    )

    invoice, _ = documents(order)
    assert invoice.state == DocumentState.ISSUED
    assert (invoice.transaction_type, invoice.reverse_charge, invoice.vies_valid) == (
        "intra_eu_b2c",
        False,
        False,
    )
    assert (invoice.rate_source, invoice.tax_note) == ("seller", "")
    assert (invoice.customer_is_end_consumer, invoice.customer_tax_number) == (True, "")
    assert list(invoice.lines.values_list("tax_rate", flat=True)) == [Decimal("22.00")]
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("160.00"),
        Decimal("35.20"),
        Decimal("195.20"),
    )
    answer = remote(sandbox, invoice)
    assert answer["transaction_type"] == "intra_eu_b2c"
    assert (answer["note"], answer["customer"]["tax_number"]) == (None, None)
    assert answer["customer"]["is_end_consumer"] is True
    assert [(t["rate"], t["amount"], t["reverse_charge"]) for t in answer["taxes"]] == [
        (Decimal("22.00"), Decimal("35.20"), False)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice.refresh_from_db()
    answer = remote(sandbox, invoice)
    assert (answer["total_paid"], answer["total_due"], answer["paid_in_full"]) == (
        Decimal("160.00"),
        Decimal("35.20"),
        False,
    )
    assert invoice.payment_recorded_at is not None
    assert invoice.paid_at is None

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(order.lines.get().pk, 1)])

    _, [credit_note] = documents(order)
    assert (credit_note.transaction_type, credit_note.reverse_charge, credit_note.tax_note) == (
        "intra_eu_b2c",
        False,
        "",
    )
    assert (credit_note.customer_is_end_consumer, credit_note.vies_valid) == (True, False)
    answer = remote(sandbox, credit_note)
    assert answer["transaction_type"] == "intra_eu_b2c"
    assert (answer["note"], answer["customer"]["tax_number"]) == (None, None)
    assert (answer["total"], answer["total_with_tax"]) == (Decimal("80.00"), Decimal("97.60"))


def test_a_credit_note_waiting_for_its_invoice_follows_the_invoices_new_treatment(
    sandbox, seller, django_capture_on_commit_callbacks
):
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
        orders.order_cancel(order_id=order.pk)
    invoice, [credit_note] = documents(order)
    assert credit_note.transaction_type == "intra_eu_b2b"

    services.document_issue(invoice_id=invoice.pk)  # VIES: not registered; the seller holds
    services.document_release(invoice_id=invoice.pk)
    services.document_issue(invoice_id=invoice.pk)
    services.document_issue(invoice_id=credit_note.pk)

    credit_note.refresh_from_db()
    assert credit_note.state == DocumentState.ISSUED
    assert (credit_note.transaction_type, credit_note.reverse_charge) == ("intra_eu_b2c", False)
    assert list(credit_note.lines.values_list("tax_rate", flat=True)) == [Decimal("22.00")]
    assert (credit_note.total_tax, credit_note.total_gross) == (
        Decimal("35.20"),
        Decimal("195.20"),
    )
    assert remote(sandbox, credit_note)["transaction_type"] == "intra_eu_b2c"


def test_vat_due_on_an_order_paid_without_it_holds_the_invoice_for_an_operator(
    sandbox, seller, django_capture_on_commit_callbacks
):
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice, _ = documents(order)
    assert (invoice.state, invoice.attempts, invoice.remote_id) == (DocumentState.PENDING, 0, None)
    assert invoice.held_reason == (
        f"VIES: {UNREGISTERED_DE} not registered at issue; VAT is due on an order paid without "
        "it (35.20 EUR unpaid). Release to issue it with the VAT due."
    )
    assert invoice.transaction_type == "intra_eu_b2c"
    assert sandbox.client().invoice_list(entity_id=seller.entity_id).data == []
    assert list(
        AuditEvent.objects.filter(document_id=invoice.pk).values_list("action", flat=True)
    ) == ["document.held"]
    # Neither a redelivered task nor the sweeper sends it.
    assert services.document_issue(invoice_id=invoice.pk).state == DocumentState.PENDING
    Document.objects.filter(pk=invoice.pk).update(created_at=timezone.now() - timezone.timedelta(1))
    assert services.document_sweep_pending() == []

    with django_capture_on_commit_callbacks(execute=True):
        services.document_release(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert (invoice.state, invoice.held_reason, invoice.total_gross) == (
        DocumentState.ISSUED,
        "",
        Decimal("195.20"),
    )
    assert (invoice.payment_recorded_at is not None, invoice.paid_at) == (True, None)
    answer = remote(sandbox, invoice)
    assert answer["transaction_type"] == "intra_eu_b2c"
    assert (answer["total_paid"], answer["total_due"]) == (Decimal("160.00"), Decimal("35.20"))
    assert [p["amount"] for p in answer["payments"]] == [Decimal("160.00")]


def test_the_standard_vat_policy_issues_with_the_payment_made_and_the_vat_due(
    sandbox, seller, django_capture_on_commit_callbacks
):
    seller.vies_unavailable_policy = "standard_vat"
    seller.save()
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice, _ = documents(order)
    assert (invoice.state, invoice.held_reason, invoice.transaction_type) == (
        DocumentState.ISSUED,
        "",
        "intra_eu_b2c",
    )
    answer = remote(sandbox, invoice)
    assert (answer["total_with_tax"], answer["total_paid"], answer["total_due"]) == (
        Decimal("195.20"),
        Decimal("160.00"),
        Decimal("35.20"),
    )
    assert (invoice.payment_recorded_at is not None, invoice.paid_at) == (True, None)


def test_a_vies_answer_confirmed_at_issue_is_not_asked_again_on_a_retry(
    sandbox, seller, django_capture_on_commit_callbacks, monkeypatch
):
    order = place(seller, billing("DE", "Muster GmbH", REGISTERED_DE))
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice, _ = documents(order)
    Document.objects.filter(pk=invoice.pk).update(vies_valid=True, attempts=1)

    def vies_must_not_be_asked(**kwargs):
        raise AssertionError("VIES asked again after the answer was confirmed")

    monkeypatch.setattr(services, "vies_check", vies_must_not_be_asked)
    issued = services.document_issue(invoice_id=invoice.pk)

    assert (issued.state, issued.transaction_type, issued.total_gross) == (
        DocumentState.ISSUED,
        "intra_eu_b2b",
        Decimal("160.00"),
    )


def test_no_invoice_is_written_for_a_sale_the_marketplace_is_the_deemed_supplier_of():
    """An order placed before checkout refused these: its zero-rated export is never written;
    the refusal is audited instead of failing the order's transition."""
    american = SellerFactory(business_name="Maple & Co", country="US", tax_number="123456789")
    order = OrderFactory(
        seller=american,
        billing_country="DE",
        transaction_type="3w_b2c",
        reverse_charge=True,
        tax_note=EXPORT_NOTE,
        tax_rate_source="zero",
    )

    assert services.invoice_request(order=order) is None

    [event] = AuditEvent.objects.all()
    assert (event.action, event.order_id, event.seller_id, event.detail) == (
        "invoice.not_written",
        order.pk,
        american.pk,
        {
            "code": "deemed_supplier",
            "reason": f"Order {order.pk} is a sale of Maple & Co, a seller outside the EU, to a "
            "consumer in the EU: the marketplace is the deemed supplier (Article 14a of the VAT "
            "Directive), so the seller's invoice is not written.",
        },
    )
    assert Document.objects.count() == 0


def test_an_invoice_held_while_vies_was_down_waits_for_an_operator_once_vies_says_no(
    sandbox, seller, django_capture_on_commit_callbacks
):
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice, _ = documents(order)
    faults = "/sandbox/faults"
    sandbox.http().post(faults, json={"vies_unavailable": True})
    with pytest.raises(services.NotReady):
        services.document_issue(invoice_id=invoice.pk)
    assert Document.objects.filter(HELD_BY_VIES).count() == 1

    sandbox.http().post(faults, json={"vies_unavailable": False})
    held = services.document_issue(invoice_id=invoice.pk)

    assert (held.state, held.last_error, held.vies_valid) == (DocumentState.PENDING, "", False)
    assert held.held_reason.startswith(f"VIES: {UNREGISTERED_DE} not registered at issue")
    assert Document.objects.filter(HELD_BY_VIES).count() == 0
    assert list(Document.objects.filter(HELD_FOR_OPERATOR)) == [held]


def test_the_buyers_order_page_shows_the_note_of_the_invoice_as_issued(
    client, sandbox, seller, django_capture_on_commit_callbacks
):
    seller.vies_unavailable_policy = "standard_vat"
    seller.save()
    vies_said_valid_at_checkout(UNREGISTERED_DE)
    order = place(seller, billing("DE", "Muster GmbH", UNREGISTERED_DE))
    client.force_login(order.buyer)
    page = f"/orders/checkout/{order.checkout.public_id}/"

    before = client.get(page)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    after = client.get(page)

    assert (order.tax_note, documents(order)[0].tax_note) == (REVERSE_CHARGE_NOTE, "")
    assert before.status_code == after.status_code == 200
    assert REVERSE_CHARGE_NOTE in before.content.decode()
    assert REVERSE_CHARGE_NOTE not in after.content.decode()
    assert 'data-testid="tax-note"' not in after.content.decode()
