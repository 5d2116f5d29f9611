"""A login's attempts count against the username as authentication reads it: surrounding
whitespace (which the login form and DRF strip), case and compatibility forms get no budget of
their own, on the API's token login, the storefront's login page and admin's."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from core.throttles import login_username
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


# django-axes: repeated failures lock the username out from that address.


@pytest.fixture
def unthrottled(settings):
    """No rate limit, so that only the lockout after LOGIN_FAILURE_LIMIT failures refuses."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates),
    }
    settings.AXES_FAILURE_LIMIT = 3


LOCKED_OUT_API = {"detail": "Request was throttled. Expected available in 1800 seconds."}


@pytest.mark.parametrize("login", LOGINS)
def test_failures_with_username_variants_lock_the_username_out_from_that_address(
    login, unthrottled
):
    post, refused_guess, logged_in = LOGINS[login]
    UserFactory(username="operator", is_staff=True)
    UserFactory(username="olga", is_staff=True)
    assert post(" operator", "wrong") == refused_guess
    assert post("OPERATOR\t", "wrong") == refused_guess

    assert post("\u00a0operator", "wrong") == 429  # the third failure locks out
    assert post("operator", PASSWORD) == 429
    assert post("olga", PASSWORD) == logged_in
    # One row for the username as authentication reads it; a try while locked out counts too
    # (and restarts the lockout).
    [attempt] = AccessAttempt.objects.all()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "operator",
        ADDRESS,
        4,
    )


def test_a_locked_out_api_login_says_when_to_try_again(unthrottled):
    UserFactory(username="operator")
    for _ in range(3):
        APIClient().post(
            "/api/auth/token/", {"username": "operator", "password": "wrong"}, REMOTE_ADDR=ADDRESS
        )

    response = APIClient().post(
        "/api/auth/token/", {"username": " operator", "password": PASSWORD}, REMOTE_ADDR=ADDRESS
    )
    elsewhere = APIClient().post(
        "/api/auth/token/", {"username": "operator", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7"
    )

    assert (response.status_code, response["Retry-After"]) == (429, "1800")
    assert response.json() == LOCKED_OUT_API
    assert elsewhere.status_code == 200
