"""An active seller's operations in a real browser: it adds a product with an image, a buyer
buys it through the storefront, the seller fulfils the order and refunds it, seeing the credit
note before and after. Each step is a small function taking the page, so a sign-up journey can
chain them after its own steps (a seller it created instead of the factories' one)."""

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.models import Order, OrderStatus, Product
from sellers.models import Seller, SellerRole
from tests.browser.test_buyer_journeys import fill_billing
from tests.conftest import Sandbox
from tests.factories import SellerUserFactory, UserFactory, seller_with_entity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year
SLOVENIA = {"address": "Prešernova 5", "post_code": "2000", "city": "Maribor", "country": "SI"}
Shot = Callable[..., Path]


def product_image(folder: Path) -> Path:
    path = folder / "lamp.png"
    data = io.BytesIO()
    Image.new("RGB", (120, 80), (11, 110, 79)).save(data, format="PNG")
    path.write_bytes(data.getvalue())
    return path


def seller_logs_in(page: Page, user_login: Callable[[User], None], user: User) -> None:
    user_login(user)
    page.goto("/seller/")
    expect(page.get_by_test_id("seller-header")).to_be_visible()


def seller_adds_product(
    page: Page, screenshot: Shot, *, name: str, price: str, stock: int, image: Path
) -> Product:
    page.get_by_test_id("nav-seller-products").click()
    expect(page.get_by_test_id("products-empty")).to_be_visible()
    screenshot("1-products-empty")
    page.get_by_test_id("product-add").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("A desk lamp in oak.")
    page.get_by_label("Net price").fill(price)
    page.get_by_label("Stock").fill(str(stock))
    page.get_by_label("Image").set_input_files(image)
    screenshot("2-product-form")
    page.get_by_test_id("product-save").click()
    expect(page.get_by_test_id("messages")).to_have_text(f"{name} is in your catalogue.")
    row = page.get_by_test_id("seller-product")
    expect(row.get_by_test_id("product-stock")).to_have_text(str(stock))
    expect(row.get_by_test_id("product-thumbnail")).to_be_visible()
    screenshot("3-product-added")
    return Product.objects.get(name=name)


def log_out(page: Page) -> None:
    page.get_by_test_id("logout").click()


def buyer_buys_as_guest(page: Page, screenshot: Shot, product: Product, quantity: int) -> Order:
    page.goto("/")
    page.get_by_role("link", name=product.name, exact=True).click()
    expect(page.get_by_test_id("product-image")).to_be_visible()
    expect(page.get_by_test_id("product-stock")).to_have_text(f"{product.stock} in stock")
    screenshot("4-product-in-the-storefront")
    page.get_by_test_id("quantity").fill(str(quantity))
    page.get_by_test_id("add-to-cart").click()
    page.get_by_test_id("go-to-checkout").click()
    fill_billing(page, name="Ana Novak", email="ana@example.com", **SLOVENIA)
    page.get_by_test_id("checkout-submit").click()
    page.get_by_test_id("pay-button").click()
    expect(page.get_by_test_id("messages")).to_have_text(
        "Payment received. Thank you for your order!"
    )
    expect(page.get_by_test_id("invoice-status")).to_have_text("Invoice issued")
    screenshot("5-buyer-paid")
    return Order.objects.get(lines__product=product)


def seller_fulfils(page: Page, screenshot: Shot, order: Order) -> None:
    page.goto(f"/seller/orders/{order.pk}/")
    expect(page.get_by_test_id("order-reference")).to_have_text(f"order-{order.pk}")
    page.get_by_test_id("order-fulfil").click()
    screenshot("6-fulfil-confirmation")
    page.get_by_test_id("confirm-fulfil").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Fulfilled")
    screenshot("7-fulfilled")


def seller_refunds(
    page: Page, screenshot: Shot, order: Order, *, quantity: int, total: str
) -> None:
    page.get_by_test_id("order-refund").click()
    line = order.lines.get()
    page.get_by_label(f"{line.name} ({line.quantity} sold at {line.unit_price})").fill(
        str(quantity)
    )
    page.get_by_test_id("preview-refund").click()
    preview = page.get_by_test_id("credit-note-preview")
    expect(preview.get_by_test_id("preview-line")).to_have_count(1)
    expect(preview.get_by_test_id("preview-total")).to_have_text(total)
    screenshot("8-credit-note-preview")
    page.get_by_test_id("confirm-refund").click()
    expect(page.get_by_test_id("messages")).to_have_text(
        f"The refund of order #{order.pk} is recorded."
    )
    credit_note = page.get_by_test_id("seller-document").filter(has_text="Credit note")
    expect(credit_note.get_by_test_id("document-number")).to_have_text(f"CN-{YEAR}-00001")
    screenshot("9-refunded")


def test_seller_adds_a_product_a_buyer_buys_it_the_seller_fulfils_and_refunds_it(
    page: Page,
    sandbox: Sandbox,
    settings,
    tmp_path: Path,
    user_login: Callable[[User], None],
    screenshot: Shot,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    seller: Seller = seller_with_entity(business_name="Oak & Light d.o.o.")
    admin = SellerUserFactory(seller=seller, role=SellerRole.ADMIN, user=UserFactory()).user

    seller_logs_in(page, user_login, admin)
    product = seller_adds_product(
        page, screenshot, name="Oak lamp", price="80.00", stock=5, image=product_image(tmp_path)
    )
    log_out(page)
    order = buyer_buys_as_guest(page, screenshot, product, 2)
    seller_logs_in(page, user_login, admin)
    seller_fulfils(page, screenshot, order)
    seller_refunds(page, screenshot, order, quantity=1, total="97.60 EUR")

    product.refresh_from_db()
    order.refresh_from_db()
    assert (product.stock, order.status) == (3, OrderStatus.FULFILLED)
    invoice, credit_note = Document.objects.filter(order=order).order_by("pk")
    assert [(d.kind, d.state, d.total_gross) for d in (invoice, credit_note)] == [
        (DocumentKind.INVOICE, DocumentState.ISSUED, Decimal("195.20")),
        (DocumentKind.CREDIT_NOTE, DocumentState.ISSUED, Decimal("97.60")),
    ]
