"""A buyer pays a two-seller checkout through Stripe in a real browser: the official library
against the Stripe stand-in, its hosted page opened by the browser, its signed webhook delivered
over HTTP to the live server; both sellers' invoices are issued and shown."""

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from invoicing.models import Document, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace.models import OrderStatus, Payment, ProviderEvent, SellerTransfer, TaxCategory
from sellers.models import SellerStatus
from tests.browser.test_buyer_journeys import (
    SLOVENIA,
    YEAR,
    Shop,
    add_to_cart,
    fill_billing,
    order_card,
)
from tests.conftest import STANDIN_URL, Sandbox, StripeStandin
from tests.factories import ProductFactory, SellerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_shop(sandbox: Sandbox) -> Shop:
    """Two active sellers with sandbox entities, a product each (Slovenian and German)."""
    alpine, berlin = (
        seller_entity_create(
            seller_id=SellerFactory(status=SellerStatus.PENDING, entity_id=None, **fields).pk
        )
        for fields in (
            {"business_name": "Alpine Crafts d.o.o."},
            {"business_name": "Berlin Books GmbH", "country": "DE", "tax_number": "DE136695976"},
        )
    )
    spoon = ProductFactory(seller=alpine, name="Carved spoon", unit_price=Decimal("14.90"))
    book = ProductFactory(
        seller=berlin,
        name="Field guide",
        unit_price=Decimal("24.00"),
        tax_category=TaxCategory.REDUCED,
    )
    return Shop(alpine=alpine, berlin=berlin, spoon=spoon, book=book)


@pytest.fixture
def standin_pages(page: Page, stripe_standin: StripeStandin, live_url: Callable[[str], str]):
    """The browser reaches the in-process stand-in's pages through Playwright routing; its
    webhooks go over HTTP to the live server's endpoint."""
    stripe_standin.deliver_over_http(live_url("/api/webhooks/stripe/"))

    def answer(route: Route) -> None:
        request = route.request
        with httpx.Client(transport=httpx.WSGITransport(app=stripe_standin.app)) as http:
            response = http.request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.post_data_buffer,
            )
        route.fulfill(
            status=response.status_code, headers=dict(response.headers), body=response.content
        )

    page.context.route(f"{STANDIN_URL}/**", answer)
    return stripe_standin


def test_buyer_pays_two_sellers_through_stripe_and_sees_both_invoices(
    page: Page,
    stripe_shop: Shop,
    sandbox: Sandbox,
    standin_pages: StripeStandin,
    screenshot: Callable[..., Path],
) -> None:
    shop = stripe_shop
    for seller in (shop.alpine, shop.berlin):
        standin_pages.onboard(seller)
    add_to_cart(page, shop.spoon, 2)
    add_to_cart(page, shop.book, 1)
    page.get_by_test_id("go-to-checkout").click()
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    page.get_by_test_id("checkout-submit").click()

    expect(page.get_by_test_id("standin-amount")).to_have_text("62.04 EUR")
    assert page.url.startswith(f"{STANDIN_URL}/standin/checkout/cs_test_")
    screenshot("stripe-page")
    page.get_by_test_id("standin-pay").click()

    expect(page.get_by_test_id("checkout-payment-state")).to_have_text("Payment: Paid.")
    expect(page.get_by_test_id("order-card")).to_have_count(2)
    number = f"{YEAR}-00001"
    for seller, total in ((shop.alpine, "36.36 EUR"), (shop.berlin, "25.68 EUR")):
        card = order_card(page, seller)
        expect(card.get_by_test_id("order-status")).to_have_text("Paid")
        expect(card.get_by_test_id("order-total")).to_have_text(total)
        expect(card.get_by_test_id("invoice-number")).to_have_text(number)
        expect(card.get_by_test_id("invoice-status")).to_have_text("Invoice issued")
    screenshot()

    payment = Payment.objects.get()
    assert (payment.provider, payment.amount) == ("stripe", Decimal("62.04"))
    assert ProviderEvent.objects.filter(type="checkout.session.completed").count() == 1
    assert sorted(o.status for o in payment.checkout.orders.all()) == [OrderStatus.PAID] * 2
    assert sorted(SellerTransfer.objects.values_list("amount", flat=True)) == [
        Decimal("23.28"),
        Decimal("33.38"),
    ]
    assert sorted(Document.objects.values_list("state", "total_gross")) == [
        (DocumentState.ISSUED, Decimal("25.68")),
        (DocumentState.ISSUED, Decimal("36.36")),
    ]
