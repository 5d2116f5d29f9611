import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils.html import escape

from core.models import AuditEvent
from marketplace import services
from marketplace.models import Checkout, Order
from marketplace.storefront.cart import SESSION_KEY
from sellers.models import Seller, SellerStatus
from tests.factories import ProductFactory, SellerFactory, UserFactory
from tests.storefront.conftest import add, checkout_post, checkout_token, counts

STALE_FORM = (
    "This checkout page is out of date; check your order and details, then submit it again."
)

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
        ("address", "Street address"),
        ("post_code", "Post code"),
        ("city", "City"),
        ("country", "Country"),
        ("company", "Company name (optional)"),
        ("vat_number", "VAT number (optional)"),
    ]:
        assert f'<label for="id_{field}">{label}:</label>' in html
    assert html.count("Billing address") == 1  # the group's heading, not repeated by a label
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


def test_a_cart_whose_total_a_money_column_cannot_hold_is_refused(client, products):
    """Before, the database's numeric overflow: a 500 after the buyer pressed Place order."""
    products["spoon"].unit_price = Decimal("600000000000.00")
    products["spoon"].save()
    add(client, products["spoon"], 2)
    users = User.objects.count()

    response = checkout_post(client, [(products["spoon"], 2, Decimal("600000000000.00"))])

    assert response.status_code == 400
    assert (
        "With this line the checkout&#x27;s total exceeds 999,999,999,999.99, the most one "
        "checkout can hold." in response.content.decode()
    )
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}
    assert User.objects.count() == users


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


def test_the_same_form_submitted_twice_places_one_checkout(client, cart):
    token = checkout_token(client)

    first = checkout_post(client, cart, token=token)
    second = checkout_post(client, cart, token=token)

    checkout = Checkout.objects.get()
    payment_page = f"/payment-provider/{checkout.public_id}/"
    assert (first.status_code, first["Location"]) == (302, payment_page)
    assert (second.status_code, second["Location"]) == (302, payment_page)
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 0, "payments": 0}
    assert User.objects.filter(username__startswith="guest-").count() == 1
    assert AuditEvent.objects.filter(action="order.placed").count() == 2
    assert client.session["storefront_checkouts"] == [str(checkout.public_id)]
    assert client.get(payment_page).status_code == 200


def test_an_old_form_submitted_again_keeps_the_cart_filled_since(client, cart, products):
    token = checkout_token(client)
    first = checkout_post(client, cart, token=token)
    add(client, products["honey"], 3)

    again = checkout_post(client, cart, token=token)

    assert again["Location"] == first["Location"]
    assert counts()["checkouts"] == 1
    assert client.session[SESSION_KEY] == {str(products["honey"].pk): 3}


def test_each_form_shown_places_its_own_checkout(client, cart, products):
    checkout_post(client, cart)
    add(client, products["honey"], 1)

    checkout_post(client, [(products["honey"], 1, Decimal("7.45"))])

    assert counts()["checkouts"] == 2


@pytest.mark.parametrize("token", ["", "not-a-token-this-session-was-shown"])
def test_a_form_this_session_was_not_shown_is_refused_and_writes_nothing(client, cart, token):
    response = checkout_post(client, cart, token=token)

    assert response.status_code == 400
    assert STALE_FORM in response.content.decode()
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}
    assert User.objects.count() == 0
    # The page shown again carries a fresh token, so submitting it again works.
    assert checkout_post(client, cart).status_code == 302


def test_another_sessions_form_token_neither_places_nor_finds_its_checkout(client, cart, products):
    other = Client()
    add(other, products["honey"], 1)
    others_token = checkout_token(other)
    checkout_post(other, [(products["honey"], 1, Decimal("7.45"))], token=others_token)

    response = checkout_post(client, cart, token=others_token)

    assert response.status_code == 400
    assert STALE_FORM in response.content.decode()
    assert counts()["checkouts"] == 1
    assert Checkout.objects.get().orders.get().seller == products["honey"].seller


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_form_place_one_checkout(client, cart, products, monkeypatch):
    # A sale counted towards the distance-sales threshold locks its seller's row before the
    # inserts; an OSS seller's is not counted, so both requests reach their inserts together.
    Seller.objects.filter(pk=products["book"].seller_id).update(oss_registered=True)
    token = checkout_token(client)
    # Both requests get past the form and into their transactions before either inserts.
    both_writing = threading.Barrier(2, timeout=30)
    guest_buyer_create = services.guest_buyer_create

    def guest_then_wait(*, email: str) -> User:
        user = guest_buyer_create(email=email)
        both_writing.wait()
        return user

    monkeypatch.setattr(services, "guest_buyer_create", guest_then_wait)
    responses, errors = [], []

    def submit() -> None:
        browser = Client()  # the same browser session, over another connection
        browser.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[
            settings.SESSION_COOKIE_NAME
        ].value
        try:
            responses.append(checkout_post(browser, cart, token=token))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    checkout = Checkout.objects.get()
    payment_page = f"/payment-provider/{checkout.public_id}/"
    assert [(r.status_code, r["Location"]) for r in responses] == [(302, payment_page)] * 2
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 0, "payments": 0}
    assert User.objects.filter(username__startswith="guest-").count() == 1
    assert AuditEvent.objects.filter(action="order.placed").count() == 2
    assert client.get(payment_page).status_code == 200


def test_a_non_eu_sellers_import_over_150_euro_is_refused_to_an_eu_consumer(client, products):
    american = SellerFactory(business_name="Maple & Co", country="US", tax_number="123456789")
    lamp = ProductFactory(seller=american, name="Lamp", unit_price=Decimal("200.00"))
    add(client, products["spoon"], 1)
    add(client, lamp, 1)

    response = checkout_post(client, [(products["spoon"], 1, "14.90"), (lamp, 1, "200.00")])

    assert response.status_code == 400
    assert (
        escape(
            f"Maple & Co's product {lamp.pk} cannot be sold to a consumer in SI: goods imported "
            "into the EU in a consignment of EUR 200.00, over EUR 150.00: import VAT is due at "
            "the border, and the marketplace has no treatment for it. Remove it, or buy as a "
            "business with a VAT number."
        )
        in response.content.decode()
    )
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}
