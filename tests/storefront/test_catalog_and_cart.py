from decimal import Decimal

import pytest

from marketplace.storefront.cart import SESSION_KEY
from sellers.branding import readable_text_colour
from sellers.models import SellerStatus
from tests.factories import ProductFactory, SellerFactory
from tests.storefront.conftest import add

pytestmark = pytest.mark.django_db


def cart_of(client):
    return client.session.get(SESSION_KEY, {})


def test_catalog_groups_active_products_by_seller_with_branding(client, products):
    ProductFactory(seller=products["spoon"].seller, name="Retired mug", is_active=False)
    ProductFactory(
        seller=SellerFactory(
            business_name="Pending Ltd", status=SellerStatus.PENDING, entity_id=None
        ),
        name="Not yet",
    )

    response = client.get("/")

    assert response.status_code == 200
    groups = [
        (g.seller.business_name, [p.name for p in g.products]) for g in response.context["groups"]
    ]
    assert groups == [
        ("Alpine Crafts d.o.o.", ["Carved spoon", "Honey"]),
        ("Berlin Books GmbH", ["Field guide"]),
    ]
    html = response.content.decode()
    # Dark green carries white text; bright yellow carries black text.
    assert "--seller-colour: #0B6E4F; --seller-text: #FFFFFF" in html
    assert "--seller-colour: #FFD23F; --seller-text: #000000" in html
    assert html.count('data-testid="product"') == 3
    assert "Retired mug" not in html
    assert "Not yet" not in html


def test_catalog_is_paginated_in_two_queries(client, django_assert_num_queries, sellers):
    for index in range(30):
        ProductFactory(seller=sellers[index % 2], name=f"Item {index:02d}")

    with django_assert_num_queries(2):  # the count and one page with its sellers
        first = client.get("/")
    second = client.get("/?page=2")

    assert sum(len(g.products) for g in first.context["groups"]) == 24
    assert sum(len(g.products) for g in second.context["groups"]) == 6
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.parametrize(
    ("colour", "text"), [("#FFD23F", "#000000"), ("#0B6E4F", "#FFFFFF"), ("#1A73E8", "#000000")]
)
def test_text_on_a_seller_colour_takes_the_higher_contrast(colour, text):
    assert readable_text_colour(colour) == text


def test_product_page_offers_add_to_cart_with_a_labelled_quantity(client, products):
    response = client.get(f"/products/{products['book'].pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_quantity">Quantity</label>' in html
    assert 'data-testid="add-to-cart"' in html
    assert "24.00 EUR" in html


def test_product_of_an_inactive_seller_is_not_found(client, products):
    seller = products["book"].seller
    seller.status = SellerStatus.FAILED
    seller.entity_id = None
    seller.save()

    response = client.get(f"/products/{products['book'].pk}/")

    assert response.status_code == 404
    assert "This product is not in the catalog (any more)." in response.content.decode()


def test_cart_groups_lines_per_seller_with_subtotals(client, products, django_assert_num_queries):
    add(client, products["spoon"], 2)
    add(client, products["honey"], 1)
    add(client, products["book"], 3)

    with django_assert_num_queries(2):  # the session and the cart's products with sellers
        response = client.get("/cart/")

    groups = response.context["groups"]
    assert [(g.seller.business_name, g.subtotal) for g in groups] == [
        ("Alpine Crafts d.o.o.", Decimal("37.25")),
        ("Berlin Books GmbH", Decimal("72.00")),
    ]
    html = response.content.decode()
    assert html.count('data-testid="cart-line"') == 3
    assert 'Cart (<span data-testid="cart-count">6</span>)' in html


def test_adding_twice_adds_up_and_update_and_remove_change_the_cart(client, products):
    spoon, book = products["spoon"], products["book"]
    add(client, spoon, 2)
    add(client, spoon, 1)
    add(client, book, 1)
    assert cart_of(client) == {str(spoon.pk): 3, str(book.pk): 1}

    client.post("/cart/update/", {"product_id": spoon.pk, "quantity": 5})
    assert cart_of(client) == {str(spoon.pk): 5, str(book.pk): 1}

    response = client.post("/cart/remove/", {"product_id": spoon.pk}, follow=True)
    assert cart_of(client) == {str(book.pk): 1}
    assert "The item left your cart." in response.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Quantity: Ensure this value is greater than or equal to 1."),
        ("-2", "Quantity: Ensure this value is greater than or equal to 1."),
        ("100", "Quantity: Ensure this value is less than or equal to 99."),
        ("many", "Quantity: Enter a whole number."),
    ],
)
def test_bad_quantity_is_refused_and_leaves_the_cart_alone(client, products, quantity, message):
    add(client, products["spoon"], 1)

    added = client.post(
        "/cart/add/", {"product_id": products["spoon"].pk, "quantity": quantity}, follow=True
    )
    updated = client.post(
        "/cart/update/", {"product_id": products["spoon"].pk, "quantity": quantity}, follow=True
    )

    assert message in added.content.decode()
    assert message in updated.content.decode()
    assert cart_of(client) == {str(products["spoon"].pk): 1}


def test_cart_holds_at_most_99_of_a_product(client, products):
    add(client, products["spoon"], 60)

    response = client.post(
        "/cart/add/", {"product_id": products["spoon"].pk, "quantity": 40}, follow=True
    )

    assert "Your cart can hold at most 99 of one product." in response.content.decode()
    assert cart_of(client) == {str(products["spoon"].pk): 60}


def test_product_of_an_inactive_seller_cannot_be_added(client, products):
    products["book"].seller.status = SellerStatus.DRAFT
    products["book"].seller.entity_id = None
    products["book"].seller.save()

    response = add(client, products["book"])

    assert response.status_code == 302
    assert cart_of(client) == {}


def test_a_product_leaving_the_catalog_leaves_the_cart_with_a_notice(client, products):
    add(client, products["spoon"], 1)
    add(client, products["book"], 1)
    products["book"].is_active = False
    products["book"].save()

    response = client.get("/cart/")

    assert "Some items are no longer available and left your cart." in response.content.decode()
    assert cart_of(client) == {str(products["spoon"].pk): 1}
