"""Buyers in the storefront, in a real browser: paying two sellers, a reverse-charged business
purchase, a declined payment and bad input at checkout."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from invoicing import tasks
from invoicing.models import Document, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace.models import (
    Checkout,
    Order,
    OrderStatus,
    Payment,
    PaymentOutcome,
    Product,
    TaxCategory,
)
from marketplace.tax import REVERSE_CHARGE_NOTE
from sellers.models import Seller, SellerStatus
from tests.conftest import Sandbox
from tests.factories import ProductFactory, SellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year
SLOVENIA = {
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}
DECLINED = (
    "Your payment was declined and nothing was charged. Your orders are waiting: "
    "you can try to pay again."
)
EMPTY_CART = "Your cart is empty: add products before checking out."


@dataclass
class Shop:
    alpine: Seller
    berlin: Seller
    spoon: Product
    book: Product


@pytest.fixture
def shop(sandbox: Sandbox) -> Shop:
    """Two active sellers whose entities exist in the sandbox, one product each."""
    alpine, berlin = (
        seller_entity_create(
            seller_id=SellerFactory(status=SellerStatus.PENDING, entity_id=None, **fields).pk
        )
        for fields in (
            {"business_name": "Alpine Crafts d.o.o.", "primary_colour": "#0B6E4F"},
            {
                "business_name": "Berlin Books GmbH",
                "country": "DE",
                "tax_number": "DE136695976",
                "primary_colour": "#FFD23F",
            },
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


@dataclass
class HeldIssuing:
    """Stands in for the invoice-issuing task while the worker is busy: the live server's
    enqueued invoice ids wait here until `release` runs the real task on them."""

    task: Callable[..., object]
    invoice_ids: list[int] = field(default_factory=list)

    def delay(self, invoice_id: int) -> None:
        self.invoice_ids.append(invoice_id)

    def release(self) -> None:
        for invoice_id in self.invoice_ids:
            self.task(invoice_id)


@pytest.fixture
def held_issuing(monkeypatch: pytest.MonkeyPatch) -> HeldIssuing:
    held = HeldIssuing(task=tasks.issue_document.delay)
    monkeypatch.setattr(tasks, "issue_document", held)
    return held


def add_to_cart(page: Page, product: Product, quantity: int) -> None:
    page.goto("/")
    page.get_by_role("link", name=product.name, exact=True).click()
    page.get_by_test_id("quantity").fill(str(quantity))
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("messages")).to_have_text(
        f"Added {quantity} x {product.name} to your cart."
    )


def fill_billing(page: Page, *, name: str, email: str, **address: str) -> None:
    page.get_by_role("textbox", name="Full name").fill(name)
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Street address").fill(address["address"])
    page.get_by_role("textbox", name="Post code").fill(address["post_code"])
    page.get_by_role("textbox", name="City").fill(address["city"])
    page.get_by_role("combobox", name="Country").select_option(address["country"])


def order_card(page: Page, seller: Seller) -> Locator:
    return page.get_by_test_id("order-card").filter(
        has=page.get_by_test_id("order-seller").get_by_text(seller.business_name, exact=True)
    )


def download_pdf(page: Page, card: Locator) -> tuple[str, bytes]:
    with page.expect_download() as started:
        card.get_by_test_id("invoice-pdf").click()
    download = started.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_buyer_pays_two_sellers_and_downloads_both_invoices(
    page: Page,
    shop: Shop,
    sandbox: Sandbox,
    held_issuing: HeldIssuing,
    screenshot: Callable[..., Path],
) -> None:
    add_to_cart(page, shop.spoon, 2)
    add_to_cart(page, shop.book, 1)
    expect(page.get_by_test_id("cart-count")).to_have_text("3")
    page.get_by_test_id("go-to-checkout").click()
    expect(page.get_by_test_id("checkout-seller").get_by_test_id("seller-name")).to_have_text(
        [shop.alpine.business_name, shop.berlin.business_name]
    )
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    screenshot("checkout")
    page.get_by_test_id("checkout-submit").click()

    expect(page.get_by_test_id("payment-amount")).to_have_text("62.04 EUR")
    screenshot("provider")
    page.get_by_test_id("pay-button").click()

    expect(page.get_by_test_id("messages")).to_have_text(
        "Payment received. Thank you for your order!"
    )
    alpine, berlin = order_card(page, shop.alpine), order_card(page, shop.berlin)
    expect(page.get_by_test_id("order-card")).to_have_count(2)
    for card, total in ((alpine, "36.36 EUR"), (berlin, "25.68 EUR")):
        expect(card.get_by_test_id("order-status")).to_have_text("Paid")
        expect(card.get_by_test_id("order-total")).to_have_text(total)
        expect(card.get_by_test_id("invoice-status")).to_have_text("Invoice being issued…")
    assert len(held_issuing.invoice_ids) == 2
    # A page that reloads loses this mark; the numbers must arrive by polling.
    page.evaluate("window.sameDocument = true")

    held_issuing.release()

    number = f"{YEAR}-00001"  # each seller's own series starts at 1
    for card in (alpine, berlin):
        expect(card.get_by_test_id("invoice-number")).to_have_text(number)
        expect(card.get_by_test_id("invoice-status")).to_have_text("Invoice issued")
    expect(page.get_by_test_id("order-cards")).to_have_attribute("data-settled", "true")
    assert page.evaluate("window.sameDocument") is True
    screenshot()
    # Named after their sellers too: the two invoices share a number.
    for card, slug in ((alpine, "alpine-crafts-doo"), (berlin, "berlin-books-gmbh")):
        filename, pdf = download_pdf(page, card)
        assert filename == f"{slug}-{number}.pdf"
        assert pdf.startswith(b"%PDF")

    orders = list(Order.objects.order_by("pk"))
    assert [(o.seller_id, o.status, o.total_gross) for o in orders] == [
        (shop.alpine.pk, OrderStatus.PAID, Decimal("36.36")),
        (shop.berlin.pk, OrderStatus.PAID, Decimal("25.68")),
    ]
    invoices = list(Document.objects.order_by("order_id"))
    assert [(i.order_id, i.state, i.number, i.total_gross) for i in invoices] == [
        (orders[0].pk, DocumentState.ISSUED, number, Decimal("36.36")),
        (orders[1].pk, DocumentState.ISSUED, number, Decimal("25.68")),
    ]
    for seller in (shop.alpine, shop.berlin):
        remote = list(sandbox.client().invoice_iter(entity_id=str(seller.entity_id)))
        assert [document["number"] for document in remote] == [number]


def test_business_buyer_in_another_eu_country_gets_a_reverse_charge_invoice(
    page: Page,
    shop: Shop,
    user_login: Callable[[User], None],
    screenshot: Callable[..., Path],
) -> None:
    buyer = UserFactory(username="klaus", first_name="Klaus", last_name="Weber")
    user_login(buyer)
    add_to_cart(page, shop.spoon, 2)
    page.get_by_test_id("go-to-checkout").click()
    expect(page.get_by_role("textbox", name="Full name")).to_have_value("Klaus Weber")
    fill_billing(
        page,
        name="Klaus Weber",
        email="klaus@example.com",
        address="Friedrichstraße 10",
        post_code="10117",
        city="Berlin",
        country="DE",
    )
    page.get_by_role("textbox", name="Company name (optional)").fill("Weber Holz GmbH")
    vat_number = page.get_by_role("textbox", name="VAT number (optional)")
    vat_number.fill("de 136 695 976")
    feedback = page.get_by_test_id("vat-feedback")
    expect(feedback).to_have_text("DE136695976: valid format.")
    vat_number.blur()  # leaving the field asks VIES
    expect(feedback).to_have_text("DE136695976: Confirmed by the EU VIES register.")
    expect(feedback).to_have_attribute("data-state", "valid")
    screenshot("checkout")
    page.get_by_test_id("checkout-submit").click()

    expect(page.get_by_test_id("payment-amount")).to_have_text("29.80 EUR")
    page.get_by_test_id("pay-button").click()

    card = order_card(page, shop.alpine)
    expect(card.get_by_test_id("invoice-number")).to_have_text(f"{YEAR}-00001")
    expect(card.get_by_test_id("order-tax")).to_have_text("0.00 EUR")
    expect(card.get_by_test_id("order-total")).to_have_text("29.80 EUR")
    expect(card.get_by_text(REVERSE_CHARGE_NOTE, exact=True)).to_be_visible()
    screenshot()
    invoice = Document.objects.get()
    assert (invoice.state, invoice.number) == (DocumentState.ISSUED, f"{YEAR}-00001")
    assert invoice.reverse_charge is True
    assert invoice.transaction_type == "intra_eu_b2b"
    assert invoice.vies_valid is True
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("29.80"),
        Decimal("0.00"),
        Decimal("29.80"),
    )
    order = invoice.order
    assert (order.buyer_id, order.buyer_vat_number, order.billing_country) == (
        buyer.pk,
        "DE136695976",
        "DE",
    )


def test_declined_payment_leaves_orders_unpaid_and_nothing_invoiced(
    page: Page, shop: Shop, sandbox: Sandbox, screenshot: Callable[..., Path]
) -> None:
    add_to_cart(page, shop.spoon, 1)
    add_to_cart(page, shop.book, 1)
    page.get_by_test_id("go-to-checkout").click()
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    page.get_by_test_id("checkout-submit").click()
    expect(page.get_by_test_id("payment-amount")).to_have_text("43.86 EUR")

    page.get_by_test_id("decline-button").click()

    expect(page.get_by_role("alert")).to_have_text(DECLINED)
    expect(page.get_by_test_id("order-card")).to_have_count(2)
    for seller in (shop.alpine, shop.berlin):
        card = order_card(page, seller)
        expect(card.get_by_test_id("order-status")).to_have_text("Placed")
        expect(card.get_by_test_id("payment-pending")).to_have_text("Payment not received yet.")
        expect(card.get_by_test_id("pay-again")).to_have_text(
            "Pay now: the whole checkout, 43.86 EUR"
        )
        expect(card.get_by_test_id("invoice-status")).to_have_text(
            "The invoice is issued once the order is paid."
        )
    screenshot()
    assert list(Order.objects.values_list("status", "paid_at")) == [
        (OrderStatus.PLACED, None),
        (OrderStatus.PLACED, None),
    ]
    assert list(Payment.objects.values_list("outcome", "amount")) == [
        (PaymentOutcome.DECLINED, Decimal("43.86"))
    ]
    assert Document.objects.count() == 0
    client = sandbox.client()
    for seller in (shop.alpine, shop.berlin):
        assert list(client.invoice_iter(entity_id=str(seller.entity_id))) == []


def test_checkout_of_an_emptied_cart_says_so_and_places_nothing(
    page: Page, shop: Shop, screenshot: Callable[..., Path]
) -> None:
    page.goto("/checkout/")
    expect(page.get_by_test_id("checkout-empty")).to_contain_text(EMPTY_CART)
    add_to_cart(page, shop.spoon, 1)
    page.get_by_test_id("go-to-checkout").click()
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    # The buyer empties the cart in another tab while this checkout page stays open.
    other_tab = page.context.new_page()
    other_tab.goto("/cart/")
    other_tab.get_by_test_id("cart-line-remove").click()
    expect(other_tab.get_by_test_id("cart-empty")).to_be_visible()
    other_tab.close()

    page.get_by_test_id("checkout-submit").click()

    expect(page.get_by_test_id("checkout-error")).to_have_text(EMPTY_CART)
    expect(page.get_by_test_id("checkout-empty")).to_be_visible()
    screenshot()
    assert _rows() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}


def test_vat_number_of_another_country_than_the_billing_one_is_refused(
    page: Page, shop: Shop, sandbox: Sandbox, screenshot: Callable[..., Path]
) -> None:
    message = "This VAT number is registered in DE, not in the billing country SI."
    add_to_cart(page, shop.spoon, 1)
    page.get_by_test_id("go-to-checkout").click()
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    page.get_by_role("textbox", name="VAT number (optional)").fill("DE136695976")
    expect(page.get_by_test_id("vat-feedback")).to_have_text(message)
    expect(page.get_by_test_id("vat-feedback")).to_have_attribute("data-state", "invalid")

    page.get_by_test_id("checkout-submit").click()

    expect(page.get_by_test_id("error-vat_number")).to_have_text(message)
    expect(page.get_by_role("textbox", name="VAT number (optional)")).to_have_value("DE136695976")
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    screenshot()
    assert _rows() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}
    assert list(sandbox.client().invoice_iter(entity_id=str(shop.alpine.entity_id))) == []


def _rows() -> dict[str, int]:
    return {
        "checkouts": Checkout.objects.count(),
        "orders": Order.objects.count(),
        "invoices": Document.objects.count(),
        "payments": Payment.objects.count(),
    }
