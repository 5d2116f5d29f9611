"""VIES at checkout and at issue time, sending documents, PDFs and payments, on the sandbox."""

from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from invoicing import services
from invoicing.client import SpaceInvoicesClient, Transient
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.sandbox import sandbox_transport
from invoicing.seller_entities import seller_entity_create
from marketplace import services as orders
from marketplace.models import Checkout, Order
from marketplace.tax import REVERSE_CHARGE_NOTE
from sellers.models import Seller
from tests.conftest import SANDBOX_KEY
from tests.factories import ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
REGISTERED_DE = "DE136695976"  # in the sandbox's VIES table
UNREGISTERED_DE = "DE123456788"  # checksum-valid, not registered
GERMAN_BUSINESS = {
    "name": "Max Muster",
    "email": "einkauf@muster.example",
    "address": "Hauptstraße 1",
    "post_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "company": "Muster GmbH",
}


@pytest.fixture
def seller(sandbox):
    return seller_entity_create(seller_id=SellerFactory(status="pending", entity_id=None).pk)


@pytest.fixture
def product(seller):
    return ProductFactory(seller=seller, name="Lamp", unit_price=Decimal("80.00"))


@pytest.fixture
def buyer_client(api_client):
    api_client.force_authenticate(UserFactory(username="max"))
    return api_client


def checkout(client, product, vat_number):
    billing = {**GERMAN_BUSINESS, "vat_number": vat_number}
    lines = [{"product_id": product.pk, "quantity": 2}]
    return client.post("/api/checkout/", {"lines": lines, "billing": billing}, format="json")


def test_a_vies_valid_business_buyer_gets_a_reverse_charge_invoice(
    sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    response = checkout(buyer_client, product, REGISTERED_DE)
    assert response.status_code == 201, response.json()
    [order] = response.json()["orders"]
    assert (order["transaction_type"], order["reverse_charge"]) == ("intra_eu_b2b", True)
    assert (order["total_net"], order["total_tax"], order["total_gross"]) == (
        "160.00",
        "0.00",
        "160.00",
    )

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order["id"])

    invoice = Document.objects.get(order_id=order["id"])
    assert invoice.state == DocumentState.ISSUED
    assert (invoice.transaction_type, invoice.reverse_charge, invoice.vies_valid) == (
        "intra_eu_b2b",
        True,
        True,
    )
    assert invoice.vies_checked_at is not None
    assert invoice.total_gross == Decimal("160.00")
    remote = sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)
    assert remote["note"] == REVERSE_CHARGE_NOTE
    assert remote["customer"]["tax_number"] == REGISTERED_DE
    assert remote["customer"]["name"] == "Muster GmbH"
    assert [(t["rate"], t["amount"], t["reverse_charge"]) for t in remote["taxes"]] == [
        (Decimal("0"), Decimal("0"), True)
    ]


def test_an_unregistered_vat_number_is_charged_the_sellers_vat(buyer_client, product):
    response = checkout(buyer_client, product, UNREGISTERED_DE)
    [order] = response.json()["orders"]
    assert (order["transaction_type"], order["reverse_charge"], order["total_gross"]) == (
        "intra_eu_b2c",
        False,
        "195.20",
    )


def test_a_vat_number_of_another_country_is_refused(buyer_client, product):
    response = checkout(buyer_client, product, "SI50223054")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "This VAT number is registered in SI, not in the billing country DE.",
        "field": "billing.vat_number",
        "code": "invalid",
    }
    assert (Checkout.objects.count(), Order.objects.count()) == (0, 0)


def test_vies_is_asked_once_a_day_at_checkout(buyer_client, product, monkeypatch):
    from invoicing import vies

    calls = []
    real = vies.gateway.space_invoices_client

    def counting_client():
        client = real()
        original = client.transaction_type_check

        def check(**kwargs):
            calls.append(kwargs)
            return original(**kwargs)

        client.transaction_type_check = check
        return client

    monkeypatch.setattr(vies.gateway, "space_invoices_client", counting_client)
    assert checkout(buyer_client, product, REGISTERED_DE).status_code == 201
    assert checkout(buyer_client, product, REGISTERED_DE).status_code == 201
    assert len(calls) == 1


def test_vat_check_endpoint_gives_immediate_feedback(buyer_client, seller):
    valid = buyer_client.post(
        "/api/checkout/vat-check/",
        {"seller_id": seller.pk, "country": "DE", "vat_number": "DE 136 695 976"},
        format="json",
    )
    assert valid.status_code == 200
    assert (valid.json()["vat_number"], valid.json()["vies_valid"]) == (REGISTERED_DE, True)
    malformed = buyer_client.post(
        "/api/checkout/vat-check/",
        {"seller_id": seller.pk, "country": "DE", "vat_number": "DE123"},
        format="json",
    )
    assert malformed.status_code == 400
    assert malformed.json()["field"] == "vat_number"


def _vies_down(sandbox):
    assert (
        sandbox.http().post("/sandbox/faults", json={"vies_unavailable": True}).status_code == 200
    )


def test_vies_down_at_issue_holds_the_invoice_by_default(
    sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    [order] = checkout(buyer_client, product, REGISTERED_DE).json()["orders"]
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order["id"])
    invoice = Document.objects.get(order_id=order["id"])
    _vies_down(sandbox)

    with pytest.raises(services.NotReady):
        services.document_issue(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert (invoice.state, invoice.vies_valid, invoice.last_error) == (
        DocumentState.PENDING,
        None,
        "VIES unavailable; invoice held",
    )


def test_vies_down_at_issue_with_the_standard_vat_policy(
    sandbox, buyer_client, product, seller, django_capture_on_commit_callbacks
):
    seller.vies_unavailable_policy = "standard_vat"
    seller.save()
    [order] = checkout(buyer_client, product, REGISTERED_DE).json()["orders"]
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order["id"])
    invoice = Document.objects.get(order_id=order["id"])
    _vies_down(sandbox)

    issued = services.document_issue(invoice_id=invoice.pk)

    assert (issued.state, issued.transaction_type, issued.reverse_charge) == (
        DocumentState.ISSUED,
        "intra_eu_b2c",
        False,
    )
    assert (issued.total_tax, issued.total_gross) == (Decimal("35.20"), Decimal("195.20"))


def test_issued_documents_are_sent_to_the_buyer_and_downloadable_as_pdf(
    sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    [order] = checkout(buyer_client, product, "").json()["orders"]
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order["id"])
        orders.order_cancel(order_id=order["id"])

    invoice, credit_note = Document.objects.filter(order_id=order["id"]).order_by("pk")
    outbox = sandbox.http().get("/sandbox/outbox", params={"limit": 10}).json()["data"]
    assert sorted((m["document_number"], m["to"]) for m in outbox) == [
        (f"{YEAR}-00001", "einkauf@muster.example"),
        (f"CN-{YEAR}-00001", "einkauf@muster.example"),
    ]
    assert invoice.sent_at is not None
    assert credit_note.sent_at is not None
    Seller.objects.filter(pk=invoice.seller_id).update(business_name="Lučka Lamps d.o.o.")
    for document, filename in (
        (invoice, f"lucka-lamps-doo-{YEAR}-00001.pdf"),
        (credit_note, f"lucka-lamps-doo-CN-{YEAR}-00001.pdf"),
    ):
        pdf = buyer_client.get(f"/api/invoices/{document.pk}/pdf/")
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert pdf.content.startswith(b"%PDF")
    buyer_client.force_authenticate(UserFactory(username="stranger"))
    assert buyer_client.get(f"/api/invoices/{invoice.pk}/pdf/").status_code == 404


def test_sending_can_be_turned_off(
    settings, sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    settings.SEND_DOCUMENTS_TO_BUYERS = False
    [order] = checkout(buyer_client, product, "").json()["orders"]
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order["id"])
    assert sandbox.http().get("/sandbox/outbox").json()["data"] == []
    assert Document.objects.get(order_id=order["id"]).sent_at is None


def test_with_the_paid_trigger_the_invoice_carries_the_payment(
    sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    [order] = checkout(buyer_client, product, "").json()["orders"]
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order["id"])
    invoice = Document.objects.get(order_id=order["id"])
    remote = sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)
    assert (remote["paid_in_full"], remote["total_paid"], remote["total_due"]) == (
        True,
        Decimal("195.20"),
        Decimal("0"),
    )
    assert invoice.payment_recorded_at is not None


def test_a_later_payment_is_recorded_on_an_invoice_issued_at_placement(
    settings, sandbox, buyer_client, product, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "placed"
    with django_capture_on_commit_callbacks(execute=True):
        [order] = checkout(buyer_client, product, "").json()["orders"]
    invoice = Document.objects.get(order_id=order["id"], kind=DocumentKind.INVOICE)
    remote = sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)
    assert (remote["paid_in_full"], invoice.payment_recorded_at) == (False, None)

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order["id"])

    remote = sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)
    assert (remote["paid_in_full"], remote["total_paid"]) == (True, Decimal("195.20"))
    assert Document.objects.get(pk=invoice.pk).payment_recorded_at is not None


class _LosingCreateAnswers(httpx.BaseTransport):
    """The sandbox, except that the answer to every create is lost after the work is done."""

    def __init__(self, app):
        self._inner = sandbox_transport(app)

    def handle_request(self, request):
        response = self._inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/invoices":
            raise httpx.ReadError("the answer was lost", request=request)
        return response


def test_once_a_create_was_sent_a_vies_change_no_longer_changes_the_invoice(
    sandbox, buyer_client, product, seller, django_capture_on_commit_callbacks
):
    """The reverse-charged create went out (its answer lost); VIES is down at the retry and the
    seller's policy would charge VAT: the invoice that exists is the one mirrored, unchanged."""
    seller.vies_unavailable_policy = "standard_vat"
    seller.save()
    [order] = checkout(buyer_client, product, REGISTERED_DE).json()["orders"]
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order["id"])
    invoice = Document.objects.get(order_id=order["id"])
    losing = SpaceInvoicesClient(
        base_url="http://sandbox",
        api_key=SANDBOX_KEY,
        http=httpx.Client(transport=_LosingCreateAnswers(sandbox.app)),
    )
    with pytest.raises(Transient):
        services.document_issue(invoice_id=invoice.pk, client=losing)
    _vies_down(sandbox)

    issued = services.document_issue(invoice_id=invoice.pk)

    remote = sandbox.client().invoice_get(entity_id=issued.entity_id, invoice_id=issued.remote_id)
    assert (issued.state, issued.transaction_type, issued.reverse_charge) == (
        DocumentState.ISSUED,
        "intra_eu_b2b",
        True,
    )
    assert remote["transaction_type"] == "intra_eu_b2b"
    assert list(issued.lines.values_list("tax_rate", flat=True)) == [Decimal("0.00")]
    assert (issued.total_tax, issued.total_gross) == (Decimal("0.00"), Decimal("160.00"))
