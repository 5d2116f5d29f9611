"""The server-rendered pages share the API's throttles: session logins, sign-ups, checkout, VIES."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from marketplace.models import Checkout
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.1"
TOO_MANY = "Too many attempts from here; try again in 60 seconds."


def _log_in(path: str, username: str, password: str, address: str = ADDRESS):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_session_logins_are_limited_per_username_and_address(path, frozen_clock, rates):
    UserFactory(username="ana", is_staff=True)
    UserFactory(username="bob", is_staff=True)
    for _ in range(rates["login"]):
        assert _log_in(path, "ana", "wrong").status_code == 200  # the form, with its error

    throttled = _log_in(path, "ana", "correct-horse-battery")

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert TOO_MANY in throttled.content.decode()
    assert "_auth_user_id" not in throttled.wsgi_request.session
    assert _log_in(path, "ANA", "wrong").status_code == 429
    assert _log_in(path, "ana", "correct-horse-battery", address="192.0.2.7").status_code == 302
    assert _log_in(path, "bob", "correct-horse-battery").status_code == 302


def test_the_api_and_the_login_page_share_one_budget(frozen_clock, rates):
    UserFactory(username="ana")
    api = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(rates["login"]):
        wrong = {"username": "ana", "password": "wrong"}
        assert api.post("/api/auth/token/", wrong).status_code == 400

    assert _log_in("/accounts/login/", "ana", "correct-horse-battery").status_code == 429


def test_signups_on_the_register_page_are_limited_per_address(frozen_clock, rates):
    client = Client(REMOTE_ADDR=ADDRESS)
    form = {"email": "x@example.com", "password1": "a", "password2": "b"}
    for index in range(rates["signup"]):
        refused = client.post("/accounts/register/", {**form, "username": f"u{index}"})
        assert refused.status_code == 400  # the form again: the passwords differ
    users = get_user_model().objects.count()

    response = client.post(
        "/accounts/register/",
        {
            "username": "late",
            "email": "late@example.com",
            "password1": "long-enough-pass",
            "password2": "long-enough-pass",
        },
    )

    assert response.status_code == 429
    assert get_user_model().objects.count() == users


def test_checkout_posts_over_the_rate_are_refused_and_write_nothing(frozen_clock, rates):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(rates["checkout"]):
        assert client.post("/checkout/", {}).status_code == 400  # the empty-cart message

    response = client.post("/checkout/", {})

    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()
    assert Checkout.objects.count() == 0


def test_vies_lookups_while_typing_are_limited_but_the_format_check_is_not(
    frozen_clock, rates, sandbox
):
    client = Client(REMOTE_ADDR=ADDRESS)
    product = ProductFactory()
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    query = {"country": "DE", "vat_number": "DE136695976", "vies": "1"}
    for _ in range(rates["checkout"]):
        assert client.get("/checkout/vat-check/", query).json()["vies"] == "valid"

    throttled = client.get("/checkout/vat-check/", query)
    format_only = client.get("/checkout/vat-check/", {**query, "vies": "0"})

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert throttled.json() == {
        "valid": True,
        "vat_number": "DE136695976",
        "message": "Too many checks; the VIES answer comes at checkout or in 60 seconds.",
        "vies": None,
    }
    assert format_only.json()["message"] == "DE136695976: valid format."
