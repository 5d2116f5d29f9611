"""Issue 16's whole journey in one real browser: a new seller signs up, completes the wizard,
previews its invoices and is approved by an operator (test_seller_signup_journey's steps), then
adds a product with an image, a buyer buys it, and the seller fulfils and refunds it
(test_seller_operations_journey's steps). Full-page screenshots of each step."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.models import OrderStatus
from tests.browser.test_seller_operations_journey import (
    Shot,
    buyer_buys_as_guest,
    log_out,
    product_image,
    seller_adds_product,
    seller_fulfils,
    seller_refunds,
)
from tests.browser.test_seller_signup_journey import SELLER_PASSWORD, approved_seller
from tests.conftest import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the wizard's invoicing step sets: the seller continues its sequence from 431.
FIRST_INVOICE_NUMBER = 431


def seller_logs_in_with_its_password(page: Page, username: str) -> None:
    page.goto(reverse("storefront:login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(SELLER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("logout")).to_contain_text(username)
    page.goto("/seller/")


def test_a_new_seller_goes_from_sign_up_to_its_first_refund_without_help(
    page: Page,
    operator_page: Page,
    screenshot: Shot,
    sandbox: Sandbox,
    logo: Path,
    settings,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    seller = approved_seller(page, operator_page, screenshot, logo)

    page.goto("/seller/")
    product = seller_adds_product(
        page, screenshot, name="Oak lamp", price="80.00", stock=5, image=product_image(tmp_path)
    )
    log_out(page)
    order = buyer_buys_as_guest(page, screenshot, product, 2)
    seller_logs_in_with_its_password(page, "alpine")
    seller_fulfils(page, screenshot, order)
    seller_refunds(page, screenshot, order, quantity=1, total="97.60 EUR")

    product.refresh_from_db()
    order.refresh_from_db()
    assert (product.seller_id, product.stock, order.status) == (
        seller.pk,
        3,
        OrderStatus.FULFILLED,
    )
    invoice, credit_note = Document.objects.filter(order=order).order_by("pk")
    year = invoice.date.year
    assert [(d.kind, d.state, d.number, d.total_gross) for d in (invoice, credit_note)] == [
        (
            DocumentKind.INVOICE,
            DocumentState.ISSUED,
            f"{year}-{FIRST_INVOICE_NUMBER:05d}",
            Decimal("195.20"),
        ),
        (DocumentKind.CREDIT_NOTE, DocumentState.ISSUED, f"CN-{year}-00001", Decimal("97.60")),
    ]
    assert invoice.entity_id == seller.entity_id
