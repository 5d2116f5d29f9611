"""Seller staff on the seller pages, in a real browser: their own documents only, and the
embedded Space Invoices dashboard."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from invoicing.models import Document, DocumentState
from marketplace import services as orders
from marketplace.models import Order
from sellers.models import Seller, SellerRole
from tests.conftest import Sandbox
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerUserFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year


@dataclass
class Sellers:
    alpine: Seller
    alpine_admin: User
    alpine_invoices: list[Document]
    berlin_invoice: Document


def paid_order(seller: Seller, quantity: int) -> Order:
    """A paid order of `quantity` mugs at 10.00 + 22 % VAT; paying it issues its invoice."""
    product = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, quantity)], billing=BILLING
    )
    return orders.order_mark_paid(order_id=checkout.orders.get().pk)


@pytest.fixture
def world(sandbox: Sandbox) -> Sellers:
    """Alpine has two invoiced orders and an admin; Berlin has one invoiced order."""
    alpine = seller_with_entity(business_name="Alpine Crafts d.o.o.", primary_colour="#0B6E4F")
    berlin = seller_with_entity(business_name="Berlin Books GmbH", primary_colour="#FFD23F")
    alpine_orders = [paid_order(alpine, 1), paid_order(alpine, 2)]
    berlin_order = paid_order(berlin, 3)
    invoices = {invoice.order_id: invoice for invoice in Document.objects.all()}
    assert {invoice.state for invoice in invoices.values()} == {DocumentState.ISSUED}
    return Sellers(
        alpine=alpine,
        alpine_admin=SellerUserFactory(seller=alpine, role=SellerRole.ADMIN).user,
        alpine_invoices=[invoices[order.pk] for order in alpine_orders],
        berlin_invoice=invoices[berlin_order.pk],
    )


def seller_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Seller")


def opened(page: Page, path: str) -> int:
    """Navigates to `path` as a typed-in address; the answer's status."""
    response = page.goto(path)
    assert response is not None
    return response.status


def test_seller_user_sees_its_documents_and_not_another_sellers_by_url(
    page: Page,
    world: Sellers,
    user_login: Callable[[User], None],
    screenshot: Callable[..., Path],
) -> None:
    user_login(world.alpine_admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Seller").click()
    expect(page.get_by_test_id("seller-header").get_by_test_id("seller-name")).to_have_text(
        "Alpine Crafts d.o.o."
    )
    seller_nav(page).get_by_role("link", name="Documents").click()

    rows = page.get_by_test_id("seller-document")
    newest, oldest = reversed(world.alpine_invoices)
    expect(rows).to_have_count(2)
    expect(rows.get_by_test_id("document-number")).to_have_text([newest.number, oldest.number])
    assert [rows.nth(i).get_attribute("data-document-id") for i in range(2)] == [
        str(newest.pk),
        str(oldest.pk),
    ]
    screenshot("documents")
    with page.expect_download() as started:
        rows.first.get_by_test_id("document-pdf").click()
    assert started.value.suggested_filename == f"alpine-crafts-doo-{YEAR}-00002.pdf"
    assert Path(started.value.path()).read_bytes().startswith(b"%PDF")

    theirs = world.berlin_invoice
    assert opened(page, f"/seller/documents/{theirs.pk}/pdf/") == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Document not found")
    expect(page.get_by_role("alert")).to_have_text(
        "This document does not exist or belongs to another seller."
    )
    screenshot("their-document")
    assert opened(page, f"/seller/orders/{theirs.order_id}/") == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Order not found")
    expect(page.get_by_role("alert")).to_have_text(
        "This order does not exist or belongs to another seller."
    )
    expect(page.get_by_role("link", name="Back to Alpine Crafts d.o.o.")).to_be_visible()
    screenshot("their-order")


def test_seller_admin_opens_the_embedded_dashboard_with_its_documents(
    page: Page,
    world: Sellers,
    sandbox_pages: str,
    user_login: Callable[[User], None],
    screenshot: Callable[..., Path],
) -> None:
    user_login(world.alpine_admin)
    page.goto("/seller/")
    seller_nav(page).get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Open the dashboard").click()

    expect(page.get_by_test_id("dashboard-frame")).to_have_attribute(
        "src",
        re.compile(
            rf"^{re.escape(sandbox_pages)}/embed/dashboard\?"
            rf"entityId={world.alpine.entity_id}&key=ek_sandbox_\w+$"
        ),
    )
    frame = page.frame_locator('[data-testid="dashboard-frame"]')
    expect(frame.get_by_role("heading", level=1)).to_have_text("Alpine Crafts d.o.o.")
    expect(frame.locator("tbody tr td:first-child")).to_have_text(
        [f"{YEAR}-00002", f"{YEAR}-00001"]
    )
    # The entity's locale is the Slovenian seller's, so amounts read the Slovenian way.
    expect(frame.locator("tbody tr td.num")).to_have_text(["24,40\xa0€", "12,20\xa0€"])
    screenshot()
