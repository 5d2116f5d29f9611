"""Buyer accounts through the API: the database decides a taken name, Django's validators the
password; a refusal names the field and writes nothing."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = {"username": "marta", "email": "marta@example.com", "password": "long-enough-pass"}


def test_a_buyer_registers_and_can_log_in(api_client):
    response = api_client.post("/api/buyers/", NEW, format="json")

    user = get_user_model().objects.get(username="marta")
    assert response.status_code == 201
    assert response.json() == {"id": user.pk, "username": "marta"}
    assert user.check_password("long-enough-pass")


@pytest.mark.parametrize(
    ("password", "detail"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("12345678901", "This password is too common. This password is entirely numeric."),
        ("marta2026", "The password is too similar to the username."),
    ],
)
def test_a_weak_password_is_refused_naming_the_field(api_client, password, detail):
    response = api_client.post("/api/buyers/", {**NEW, "password": password}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": detail, "field": "password", "code": "invalid"}
    assert not get_user_model().objects.filter(username="marta").exists()


def test_a_taken_username_is_refused_naming_the_field(api_client):
    UserFactory(username="marta")

    response = api_client.post("/api/buyers/", NEW, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "username"
    assert get_user_model().objects.filter(username="marta").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_registrations_of_one_name_make_one_account():
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def register() -> None:
        try:
            barrier.wait()
            statuses.append(APIClient().post("/api/buyers/", NEW, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 400]
    assert get_user_model().objects.filter(username="marta").count() == 1


INVALID_USERNAME = (
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ "
    "characters."
)
GUEST_NAME = "Choose a username that does not start with 'guest-'."


@pytest.mark.parametrize(
    ("username", "detail"),
    [
        ("guest-1", GUEST_NAME),
        ("guest-0f8e2c1b9a7d4e3f8a6b5c4d3e2f1a0b", GUEST_NAME),
        ("Guest-1", GUEST_NAME),
        ("\uff47\uff55\uff45\uff53\uff54-1", GUEST_NAME),  # full-width: NFKC makes it "guest-1"
        ("marta novak", INVALID_USERNAME),
        ("marta<script>", INVALID_USERNAME),
        ("MARTA", "This username is taken."),
    ],
)
def test_the_api_and_the_storefront_refuse_the_same_usernames(api_client, client, username, detail):
    UserFactory(username="marta")
    users_before = get_user_model().objects.count()

    api = api_client.post("/api/buyers/", {**NEW, "username": username}, format="json")
    page = client.post(
        "/accounts/register/",
        {
            "username": username,
            "email": "someone@example.com",
            "password1": "long-enough-pass",
            "password2": "long-enough-pass",
        },
    )

    assert (api.status_code, api.json()) == (
        400,
        {"detail": detail, "field": "username", "code": "invalid"},
    )
    assert page.status_code == 400
    assert page.context["form"].errors["username"] == [detail]
    assert get_user_model().objects.count() == users_before


def test_a_username_is_kept_in_its_normalised_form(api_client):
    """Full-width letters, as the storefront's form keeps them: NFKC-normalised."""
    response = api_client.post(
        "/api/buyers/", {**NEW, "username": "\uff4d\uff41\uff52\uff54\uff41"}, format="json"
    )

    assert (response.status_code, response.json()["username"]) == (201, "marta")
    assert get_user_model().objects.get().username == "marta"
