import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.utils import timezone

from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services
from marketplace.models import Checkout
from marketplace.storefront.guest import SALT, guest_orders_token
from sellers.models import Seller
from tests.factories import UserFactory
from tests.storefront.conftest import add, checkout_post, hidden_fields

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def place(client, products):
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )
    return Checkout.objects.order_by("-pk").first()


def pay(client, checkout):
    html = client.get(f"/payment-provider/{checkout.public_id}/").content.decode()
    return client.post("/payments/callback/", hidden_fields(html, "pay-button"))


@pytest.fixture
def paid(client, products, django_capture_on_commit_callbacks):
    """A guest checkout of two sellers, paid, with both invoices issued."""
    checkout = place(client, products)
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, checkout)
    return checkout


def documents_of(checkout):
    return {
        doc.order.seller.business_name: doc
        for doc in Document.objects.filter(order__checkout=checkout)
    }


def test_confirmation_shows_one_card_per_seller_with_its_invoice(
    client, paid, django_assert_num_queries
):
    # session, checkout, orders, lines, documents, the checkout's payments (paid: no more)
    with django_assert_num_queries(6):
        response = client.get(f"/orders/checkout/{paid.public_id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="order-card"') == 2
    assert [card.order.seller.business_name for card in response.context["cards"]] == [
        "Alpine Crafts d.o.o.",
        "Berlin Books GmbH",
    ]
    assert '<dd data-testid="order-total">36.36 EUR</dd>' in html
    assert '<dd data-testid="order-total">25.68 EUR</dd>' in html
    assert html.count(f'<span data-testid="invoice-number">{YEAR}-00001</span>') == 2
    docs = documents_of(paid)
    for doc in docs.values():
        assert f'href="/orders/checkout/{paid.public_id}/documents/{doc.pk}/pdf/"' in html
    assert 'data-settled="true"' in html
    assert "Payment received. Thank you for your order!" in html


def test_status_endpoint_reports_every_document(client, paid):
    response = client.get(f"/orders/checkout/{paid.public_id}/status/")

    docs = documents_of(paid)
    orders = list(paid.orders.order_by("pk"))
    assert response.json() == {
        "settled": True,
        "orders": [
            {
                "id": order.pk,
                "status": "paid",
                "status_label": "Paid",
                "payment_state": "paid",
                "no_invoice": "",
                "documents": [
                    {
                        "id": docs[order.seller.business_name].pk,
                        "kind": "invoice",
                        "testid": "invoice",
                        "state": "issued",
                        "label": "Invoice issued",
                        "number": f"{YEAR}-00001",
                        "pdf_url": f"/orders/checkout/{paid.public_id}/documents/"
                        f"{docs[order.seller.business_name].pk}/pdf/",
                        "e_invoice_url": f"/orders/checkout/{paid.public_id}/documents/"
                        f"{docs[order.seller.business_name].pk}/e-invoice/",
                    }
                ],
            }
            for order in orders
        ],
    }


def test_pending_held_and_failed_invoices_are_shown_honestly(client, products):
    checkout = place(client, products)
    pay(client, checkout)  # after-commit work never runs here: both invoices stay pending

    pending = client.get(f"/orders/checkout/{checkout.public_id}/status/").json()
    assert pending["settled"] is False
    assert [o["documents"][0]["label"] for o in pending["orders"]] == ["Invoice being issued…"] * 2
    page = client.get(f"/orders/checkout/{checkout.public_id}/").content.decode()
    assert 'data-settled="false"' in page
    assert page.count("Invoice being issued…") == 2

    alpine, berlin = (
        documents_of(checkout)[name] for name in ("Alpine Crafts d.o.o.", "Berlin Books GmbH")
    )
    Document.objects.filter(pk=alpine.pk).update(vies_checked_at=timezone.now(), vies_valid=None)
    Document.objects.filter(pk=berlin.pk).update(state=DocumentState.FAILED, last_error="rejected")

    settled = client.get(f"/orders/checkout/{checkout.public_id}/status/").json()
    assert settled["settled"] is True
    assert [
        (o["documents"][0]["state"], o["documents"][0]["label"]) for o in settled["orders"]
    ] == [
        ("held", "Invoice on hold until the EU VAT number check (VIES) answers again."),
        (
            "failed",
            "Invoice could not be issued; the marketplace team sees this and will issue it.",
        ),
    ]
    assert all(o["documents"][0]["pdf_url"] == "" for o in settled["orders"])

    Document.objects.filter(pk=alpine.pk).update(held_reason="VIES: not registered at issue")
    held = client.get(f"/orders/checkout/{checkout.public_id}/status/").json()
    assert (
        held["orders"][0]["documents"][0]["state"],
        held["orders"][0]["documents"][0]["label"],
    ) == (
        "held",
        "Invoice on hold while the marketplace team reviews the VAT due on it.",
    )


def test_unpaid_orders_say_when_their_invoice_comes(client, products):
    checkout = place(client, products)

    body = client.get(f"/orders/checkout/{checkout.public_id}/status/").json()

    assert [(o["status"], o["no_invoice"], o["documents"]) for o in body["orders"]] == [
        ("placed", "The invoice is issued once the order is paid.", [])
    ] * 2


def test_pdf_is_streamed_to_the_buyer_only(client, paid):
    doc = documents_of(paid)["Berlin Books GmbH"]
    url = f"/orders/checkout/{paid.public_id}/documents/{doc.pk}/pdf/"

    response = client.get(url)
    stranger = Client().get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="berlin-books-gmbh-{YEAR}-00001.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    assert stranger.status_code == 404
    assert b"%PDF" not in stranger.content


def test_pdfs_of_two_sellers_with_the_same_number_download_under_different_names(client, paid):
    documents = documents_of(paid)
    urls = {
        seller: f"/orders/checkout/{paid.public_id}/documents/{doc.pk}/pdf/"
        for seller, doc in documents.items()
    }

    names = {seller: client.get(url)["Content-Disposition"] for seller, url in urls.items()}

    assert {doc.number for doc in documents.values()} == {f"{YEAR}-00001"}
    assert names == {
        "Alpine Crafts d.o.o.": f'attachment; filename="alpine-crafts-doo-{YEAR}-00001.pdf"',
        "Berlin Books GmbH": f'attachment; filename="berlin-books-gmbh-{YEAR}-00001.pdf"',
    }


@pytest.mark.parametrize(
    ("business_name", "number", "filename"),
    [
        ("Čebelarstvo Žagar s.p.", "2026-00007", "cebelarstvo-zagar-sp-2026-00007.pdf"),
        ("東京書店", "2026-00001", "seller-7-2026-00001.pdf"),
        ("Alpine Crafts d.o.o.", "INV/2026 01", "alpine-crafts-doo-INV2026_01.pdf"),
    ],
    ids=["accents", "no-latin-letters", "number-with-slash-and-space"],
)
def test_pdf_filename_is_safe_for_any_seller_name_and_number(business_name, number, filename):
    seller = Seller(pk=7, business_name=business_name)
    document = Document(seller=seller, number=number)

    assert document.pdf_filename() == filename


def test_pdf_of_another_checkouts_document_is_not_found(client, products, paid):
    other = UserFactory(username="bob")
    bob = Client()
    bob.force_login(other)
    bob_checkout = place(bob, products)
    doc = documents_of(paid)["Alpine Crafts d.o.o."]

    response = bob.get(f"/orders/checkout/{bob_checkout.public_id}/documents/{doc.pk}/pdf/")

    assert response.status_code == 404
    assert "This document is not issued (yet) for this order." in response.content.decode()


def test_guest_link_shows_the_checkout_in_any_browser(paid):
    token = guest_orders_token(paid)
    browser = Client()

    page = browser.get(f"/orders/guest/{token}/")
    status = browser.get(f"/orders/guest/{token}/status/")
    doc = documents_of(paid)["Alpine Crafts d.o.o."]
    pdf = browser.get(f"/orders/guest/{token}/documents/{doc.pk}/pdf/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="order-card"') == 2
    assert f'href="/orders/guest/{token}/documents/{doc.pk}/pdf/"' in html
    assert [o["status"] for o in status.json()["orders"]] == ["paid", "paid"]
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


def test_tampered_guest_link_is_refused(paid):
    token = guest_orders_token(paid)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    page = Client().get(f"/orders/guest/{tampered}/")
    status = Client().get(f"/orders/guest/{tampered}/status/")

    assert page.status_code == 404
    assert "This order link is not valid." in page.content.decode()
    assert 'data-testid="order-card"' not in page.content.decode()
    assert status.status_code == 404


def guest_link_signed_days_ago(checkout: Checkout, days: int) -> str:
    """A guest link as `guest_orders_token` signed it `days` ago."""

    class SignedEarlier(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - days * 24 * 60 * 60)

    return SignedEarlier(salt=SALT).sign_object(str(checkout.public_id))


EXPIRED = (
    "This order link has expired: the link in your order email works for {days} days. To get a "
    "new one, reply to your order email or write to orders@example.com from the address you "
    "ordered with."
)


@pytest.mark.parametrize(
    ("max_age_days", "age_days", "status"),
    [(90, 0, 200), (90, 89, 200), (90, 91, 410), (30, 31, 410)],
)
def test_guest_link_opens_until_its_max_age(paid, settings, max_age_days, age_days, status):
    settings.GUEST_LINK_MAX_AGE_DAYS = max_age_days
    token = guest_link_signed_days_ago(paid, age_days)

    response = Client().get(f"/orders/guest/{token}/")

    assert response.status_code == status
    assert response.content.decode().count('data-testid="order-card"') == (
        2 if status == 200 else 0
    )


def test_expired_guest_link_says_how_to_get_a_new_one(paid, settings):
    settings.GUEST_LINK_MAX_AGE_DAYS = 90
    settings.DEFAULT_FROM_EMAIL = "Marketplace <orders@example.com>"
    token = guest_link_signed_days_ago(paid, 91)
    doc = documents_of(paid)["Alpine Crafts d.o.o."]
    browser = Client()

    page = browser.get(f"/orders/guest/{token}/")
    status = browser.get(f"/orders/guest/{token}/status/")
    pdf = browser.get(f"/orders/guest/{token}/documents/{doc.pk}/pdf/")

    message = EXPIRED.format(days=90)
    html = page.content.decode()
    assert page.status_code == 410
    assert f'data-testid="guest-link-expired"><p>{message}</p>' in html
    assert 'href="mailto:orders@example.com?subject=New%20order%20link"' in html
    assert (status.status_code, status.json()) == (410, {"detail": message})
    assert pdf.status_code == 410
    assert b"%PDF" not in pdf.content


def test_guest_link_never_opens_a_registered_buyers_checkout(products):
    buyer_browser = Client()
    buyer_browser.force_login(UserFactory(username="ana"))
    checkout = place(buyer_browser, products)

    response = Client().get(f"/orders/guest/{guest_orders_token(checkout)}/")

    assert response.status_code == 404


def test_confirmation_of_another_buyers_checkout_is_not_found(client, paid):
    response = Client().get(f"/orders/checkout/{paid.public_id}/")
    status = Client().get(f"/orders/checkout/{paid.public_id}/status/")

    assert response.status_code == 404
    assert "belongs to another buyer" in response.content.decode()
    assert status.status_code == 404


def test_my_orders_lists_own_orders_with_invoices_and_credit_notes(
    client, products, django_capture_on_commit_callbacks
):
    ana = UserFactory(username="ana")
    client.force_login(ana)
    checkout = place(client, products)
    with django_capture_on_commit_callbacks(execute=True):
        pay(client, checkout)
    book_order = checkout.orders.get(seller__business_name="Berlin Books GmbH")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order_id=book_order.pk)
    stranger = Client()
    place(stranger, products)  # a guest's orders never show up in Ana's list

    response = client.get("/my/orders/")

    html = response.content.decode()
    assert html.count('data-testid="order-card"') == 2
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert credit_note.state == DocumentState.ISSUED
    assert f'<span data-testid="credit-note-number">{credit_note.number}</span>' in html
    assert f"/orders/checkout/{checkout.public_id}/documents/{credit_note.pk}/pdf/" in html
    status = client.get("/my/orders/status/?page=1").json()
    assert [(o["status"], [d["kind"] for d in o["documents"]]) for o in status["orders"]] == [
        ("cancelled", ["invoice", "credit_note"]),
        ("paid", ["invoice"]),
    ]


def test_my_orders_needs_a_login(client):
    response = client.get("/my/orders/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/my/orders/"


def test_register_logs_in_and_guest_names_are_reserved(client):
    refused = client.post(
        "/accounts/register/",
        {
            "username": "guest-1",
            "email": "g@example.com",
            "password1": "s3cret-Pass!",
            "password2": "s3cret-Pass!",
        },
    )
    created = client.post(
        "/accounts/register/",
        {
            "username": "ana",
            "email": "ana@example.com",
            "password1": "s3cret-Pass!",
            "password2": "s3cret-Pass!",
        },
    )

    assert refused.status_code == 400
    assert (
        "Choose a username that does not start with &#x27;guest-&#x27;." in refused.content.decode()
    )
    assert created.status_code == 302
    assert User.objects.get().username == "ana"
    assert client.get("/my/orders/").status_code == 200


def test_login_and_logout_pages(client):
    UserFactory(username="ana")

    page = client.get("/accounts/login/")
    logged_in = client.post(
        "/accounts/login/", {"username": "ana", "password": "correct-horse-battery"}
    )
    logged_out = client.post("/accounts/logout/")

    assert '<label for="id_username">Username:</label>' in page.content.decode()
    assert logged_in["Location"] == "/my/orders/"
    assert logged_out["Location"] == "/"
    assert client.get("/my/orders/").status_code == 302
