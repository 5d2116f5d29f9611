"""Storefront fixtures: two sellers with sandbox entities and products, and page helpers."""

import re
from dataclasses import asdict
from decimal import Decimal

import pytest
from django.test import Client

from invoicing.models import Document
from marketplace.models import Checkout, Order, Payment, TaxCategory
from tests.factories import BILLING, ProductFactory, seller_with_entity


@pytest.fixture
def sellers(sandbox):
    """Two active sellers whose entities exist in the sandbox, so their invoices can issue."""
    alpine = seller_with_entity(business_name="Alpine Crafts d.o.o.", primary_colour="#0B6E4F")
    berlin = seller_with_entity(
        business_name="Berlin Books GmbH",
        country="DE",
        tax_number="DE136695976",
        primary_colour="#FFD23F",
    )
    return [alpine, berlin]


@pytest.fixture
def products(sellers):
    alpine, berlin = sellers
    return {
        "spoon": ProductFactory(seller=alpine, name="Carved spoon", unit_price=Decimal("14.90")),
        "honey": ProductFactory(
            seller=alpine,
            name="Honey",
            unit_price=Decimal("7.45"),
            tax_category=TaxCategory.REDUCED,
        ),
        "book": ProductFactory(
            seller=berlin,
            name="Field guide",
            unit_price=Decimal("24.00"),
            tax_category=TaxCategory.REDUCED,
        ),
    }


def add(client: Client, product, quantity: int = 1):
    return client.post("/cart/add/", {"product_id": product.pk, "quantity": quantity})


def checkout_token(client: Client) -> str:
    """The one-time token of the checkout form shown to this session now ("" with no cart)."""
    html = client.get("/checkout/").content.decode()
    found = re.search(r'<input type="hidden" name="submission_token" value="([^"]*)">', html)
    return found.group(1) if found else ""


def checkout_post(client: Client, lines, *, token: str | None = None, **billing: str):
    """Post the checkout form with the cart summary `lines` = [(product, quantity, price)]:
    the form just shown to this session, unless `token` names the form it came from."""
    data = {**asdict(BILLING), **billing}
    data["submission_token"] = checkout_token(client) if token is None else token
    data["product_id"] = [str(product.pk) for product, _, _ in lines]
    data["quantity"] = [str(quantity) for _, quantity, _ in lines]
    data["unit_price"] = [str(price) for _, _, price in lines]
    return client.post("/checkout/", data)


def hidden_fields(html: str, testid: str) -> dict[str, str]:
    """The hidden inputs of the provider page's form whose button has this data-testid."""
    form = next(f for f in re.findall(r"<form.*?</form>", html, re.S) if testid in f)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def counts() -> dict[str, int]:
    return {
        "checkouts": Checkout.objects.count(),
        "orders": Order.objects.count(),
        "invoices": Document.objects.count(),
        "payments": Payment.objects.count(),
    }
