from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from marketplace.models import AuditEvent, Checkout, Order
from marketplace.storefront.cart import SESSION_KEY
from sellers.models import SellerStatus
from tests.factories import UserFactory
from tests.storefront.conftest import add, checkout_post, counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(client, products):
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    return [
        (products["spoon"], 2, Decimal("14.90")),
        (products["book"], 1, Decimal("24.00")),
    ]


def test_checkout_page_lists_the_cart_and_labels_every_field(client, cart):
    response = client.get("/checkout/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="checkout-line"') == 2
    for field, label in [
        ("name", "Full name"),
        ("email", "Email"),
        ("address", "Billing address"),
        ("post_code", "Post code"),
        ("city", "City"),
        ("country", "Country"),
        ("company", "Company name (optional)"),
        ("vat_number", "VAT number (optional)"),
    ]:
        assert f'<label for="id_{field}">{label}:</label>' in html
    assert 'data-testid="checkout-submit"' in html


def test_guest_checkout_places_one_order_per_seller_for_a_guest_buyer(client, cart):
    response = checkout_post(client, cart)

    checkout = Checkout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/payment-provider/{checkout.public_id}/"
    orders = list(
        checkout.orders.order_by("pk").values_list("seller__business_name", "total_gross")
    )
    assert orders == [
        ("Alpine Crafts d.o.o.", Decimal("36.36")),
        ("Berlin Books GmbH", Decimal("25.68")),
    ]
    guest = checkout.buyer
    assert guest.username.startswith("guest-")
    assert guest.email == "ana@example.com"
    assert not guest.has_usable_password()
    assert not guest.is_active
    assert client.session.get(SESSION_KEY) is None
    assert client.session["storefront_checkouts"] == [str(checkout.public_id)]


def test_logged_in_buyer_checks_out_into_their_account(client, products):
    buyer = UserFactory(username="ana")
    client.force_login(buyer)
    add(client, products["honey"], 4)

    checkout_post(client, [(products["honey"], 4, Decimal("7.45"))])

    order = Order.objects.get()
    assert order.buyer == buyer
    assert order.checkout.buyer == buyer
    assert User.objects.count() == 1


def test_business_buyer_with_a_vies_valid_number_of_another_country_is_reverse_charged(
    client, products
):
    add(client, products["spoon"], 1)

    checkout_post(
        client,
        [(products["spoon"], 1, Decimal("14.90"))],
        country="DE",
        company="Buch AG",
        vat_number="de 136 695 976",
    )

    order = Order.objects.get()
    assert (order.buyer_vat_number, order.reverse_charge, order.total_gross) == (
        "DE136695976",
        True,
        Decimal("14.90"),
    )


def test_empty_cart_cannot_check_out(client, products):
    page = client.get("/checkout/")
    response = checkout_post(client, [])

    assert "Your cart is empty: add products before checking out." in page.content.decode()
    assert response.status_code == 400
    assert "Your cart is empty: add products before checking out." in response.content.decode()
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda cart: [(cart[0][0], 2, Decimal("0.01")), cart[1]],
            "The price of Carved spoon is 14.90 EUR, not 0.01; review your cart and check out "
            "again.",
        ),
        (lambda cart: [(cart[0][0], 0, cart[0][2]), cart[1]], "Quantity must be between 1 and 99."),
        (
            lambda cart: [(cart[0][0], -3, cart[0][2]), cart[1]],
            "Quantity must be between 1 and 99.",
        ),
        (
            lambda cart: [(cart[0][0], 100000, cart[0][2]), cart[1]],
            "Quantity must be between 1 and 99.",
        ),
        (
            lambda cart: [(cart[0][0], 5, cart[0][2]), cart[1]],
            "Your cart changed since this page was shown; review it and check out again.",
        ),
        (
            lambda cart: [cart[0]],
            "Your cart changed since this page was shown; review it and check out again.",
        ),
        (
            lambda cart: [(cart[0][0], "two", cart[0][2]), cart[1]],
            "The order summary holds a value that is not a number; review your cart.",
        ),
    ],
    ids=["price", "zero", "negative", "huge", "quantity", "line-dropped", "not-a-number"],
)
def test_tampered_cart_summary_is_refused_and_writes_nothing(client, cart, tamper, message):
    users = User.objects.count()

    response = checkout_post(client, tamper(cart))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}
    assert User.objects.count() == users
    assert AuditEvent.objects.filter(action="order.placed").count() == 0


def test_product_of_a_seller_gone_inactive_is_refused(client, cart, products):
    seller = products["book"].seller
    seller.status = SellerStatus.FAILED
    seller.entity_id = None
    seller.save()

    response = checkout_post(client, cart)

    assert response.status_code == 400
    assert (
        f"Product {products['book'].pk} is no longer available; review your cart."
        in response.content.decode()
    )
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}


@pytest.mark.parametrize(
    ("billing", "field", "message"),
    [
        (
            {"vat_number": "DE136695976"},
            "vat_number",
            "This VAT number is registered in DE, not in the billing country SI.",
        ),
        (
            {"vat_number": "SI12345678"},
            "vat_number",
            "&#x27;SI12345678&#x27; is not a valid tax number for SI.",
        ),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        (
            {"country": "XX"},
            "country",
            "Select a valid choice. XX is not one of the available choices.",
        ),
        ({"city": ""}, "city", "This field is required."),
    ],
)
def test_bad_billing_details_are_named_on_the_field_and_write_nothing(
    client, cart, billing, field, message
):
    response = checkout_post(client, cart, **billing)

    assert response.status_code == 400
    assert (
        f'<p class="field-error" id="id_{field}_error" data-testid="error-{field}">{message}</p>'
        in response.content.decode()
    )
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}


def test_cart_in_two_currencies_is_refused(client, cart, products):
    products["book"].currency = "USD"
    products["book"].save()

    response = checkout_post(client, cart)

    assert response.status_code == 400
    assert (
        "Your cart holds items priced in EUR and USD; pay for each currency in its own checkout."
        in response.content.decode()
    )
    assert counts()["checkouts"] == 0


def test_vat_check_answers_the_format_at_once(client, cart):
    valid = client.get("/checkout/vat-check/", {"country": "SI", "vat_number": "si 5022 3054"})
    foreign = client.get("/checkout/vat-check/", {"country": "SI", "vat_number": "DE136695976"})
    broken = client.get("/checkout/vat-check/", {"country": "DE", "vat_number": "DE136695977"})

    assert valid.json() == {
        "valid": True,
        "vat_number": "SI50223054",
        "message": "SI50223054: valid format.",
        "vies": None,
    }
    assert foreign.json() == {
        "valid": False,
        "vat_number": "",
        "message": "This VAT number is registered in DE, not in the billing country SI.",
        "vies": None,
    }
    assert broken.json()["valid"] is False
    assert broken.json()["message"] == "'DE136695977' is not a valid tax number for DE."


@pytest.mark.parametrize(
    ("number", "vies", "message"),
    [
        ("DE136695976", "valid", "DE136695976: Confirmed by the EU VIES register."),
        (
            "DE100000008",
            "invalid",
            "DE100000008: The EU VIES register does not confirm this number, so VAT is charged.",
        ),
    ],
)
def test_vat_check_adds_the_vies_answer_when_asked(client, cart, number, vies, message):
    response = client.get(
        "/checkout/vat-check/", {"country": "DE", "vat_number": number, "vies": "1"}
    )

    assert response.json() == {
        "valid": True,
        "vat_number": number,
        "message": message,
        "vies": vies,
    }


def test_vat_check_reports_vies_being_down(client, cart, sandbox):
    assert (
        sandbox.http().post("/sandbox/faults", json={"vies_unavailable": True}).status_code == 200
    )

    response = client.get(
        "/checkout/vat-check/", {"country": "DE", "vat_number": "DE136695976", "vies": "1"}
    )

    assert response.json()["vies"] == "unavailable"
