"""A login's attempts count against the username as authentication reads it: surrounding
whitespace (which the login form and DRF strip), case and compatibility forms get no budget of
their own, on the API's token login, the storefront's login page and admin's."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from marketplace.throttles import login_username
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.1"
PASSWORD = "correct-horse-battery"
# Each authenticates as "operator" (the first three) or names it in another case or form.
VARIANTS = [" operator", "operator\t", "\u00a0operator\n", "OPERATOR", "\uff4fperator"]


def _api(username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return (
        APIClient().post("/api/auth/token/", body, format="json", REMOTE_ADDR=ADDRESS).status_code
    )


def _page(path: str) -> object:
    def post(username: str, password: str) -> int:
        form = {"username": username, "password": password}
        return Client(REMOTE_ADDR=ADDRESS).post(path, form).status_code

    return post


LOGINS = {
    "api": (_api, 400, 200),
    "storefront": (_page("/accounts/login/"), 200, 302),
    "admin": (_page("/admin/login/"), 200, 302),
}


def test_whitespace_is_what_authentication_strips():
    # The premise: a padded username logs in as the account itself.
    UserFactory(username="operator", is_staff=True)
    assert _api(" operator ", PASSWORD) == 200
    assert _page("/accounts/login/")("\toperator ", PASSWORD) == 302


@pytest.mark.parametrize("login", LOGINS)
def test_guesses_with_username_variants_share_one_budget(login, frozen_clock, rates):
    post, refused_guess, logged_in = LOGINS[login]
    UserFactory(username="operator", is_staff=True)
    UserFactory(username="olga", is_staff=True)
    guesses = ["operator", *VARIANTS][: rates["login"]]
    for username in guesses:
        assert post(username, "wrong") == refused_guess

    # The next guess, in any spelling, and the right password itself are refused.
    for username in VARIANTS:
        assert post(username, "wrong") == 429, username
    assert post(" operator", PASSWORD) == 429
    assert post("olga", PASSWORD) == logged_in


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (" operator ", "operator"),
        ("\u00a0Operator\n", "operator"),
        ("\uff4fperator", "operator"),
        (12345, "12345"),
        (None, ""),
        (["operator"], ""),
        (True, ""),
    ],
)
def test_login_username_is_the_authenticated_name_folded(raw, normalised):
    assert login_username(raw) == normalised
