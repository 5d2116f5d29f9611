"""The checkout API's Idempotency-Key: a retried request places nothing more."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from marketplace.models import Checkout, Order
from tests.factories import BILLING, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart():
    product = ProductFactory(seller=SellerFactory(), unit_price=Decimal("12.99"))
    return {
        "lines": [{"product_id": product.pk, "quantity": 2}],
        "billing": {
            "name": BILLING.name,
            "email": BILLING.email,
            "address": BILLING.address,
            "post_code": BILLING.post_code,
            "city": BILLING.city,
            "country": BILLING.country,
        },
    }


def _post(user, body, key=None):
    client = APIClient()
    client.force_authenticate(user)
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post("/api/checkout/", body, format="json", **headers)


def test_a_retry_with_the_same_key_answers_with_the_first_checkout(cart):
    buyer = UserFactory()

    first = _post(buyer, cart, key="order-2026-11-30-0001")
    retry = _post(buyer, cart, key="order-2026-11-30-0001")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert Checkout.objects.count() == 1
    assert Order.objects.count() == 1


def test_without_a_key_or_with_another_key_each_request_places_a_checkout(cart):
    buyer = UserFactory()

    statuses = [
        _post(buyer, cart).status_code,
        _post(buyer, cart).status_code,
        _post(buyer, cart, key="a").status_code,
        _post(buyer, cart, key="b").status_code,
    ]

    assert statuses == [201, 201, 201, 201]
    assert Checkout.objects.count() == 4


def test_one_buyers_key_never_finds_another_buyers_checkout(cart):
    ana, bob = UserFactory(username="ana"), UserFactory(username="bob")

    anas = _post(ana, cart, key="same-key")
    bobs = _post(bob, cart, key="same-key")

    assert (anas.status_code, bobs.status_code) == (201, 201)
    assert anas.json()["checkout_id"] != bobs.json()["checkout_id"]
    assert Checkout.objects.get(pk=bobs.json()["checkout_id"]).buyer == bob


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
def test_a_malformed_key_is_refused_naming_the_header_and_places_nothing(cart, key):
    response = _post(UserFactory(), cart, key=key)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Use 1 to 255 visible ASCII characters.",
        "field": "Idempotency-Key",
        "code": "invalid",
    }
    assert Checkout.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_place_one_checkout(cart):
    buyer = UserFactory()
    barrier = threading.Barrier(2)
    answers: list[tuple[int, int]] = []

    def check_out() -> None:
        try:
            barrier.wait()
            response = _post(buyer, cart, key="simultaneous")
            answers.append((response.status_code, response.json()["checkout_id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=check_out) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2
    assert {checkout_id for _, checkout_id in answers} == {Checkout.objects.get().pk}
    assert Order.objects.count() == 1


REUSED = {
    "detail": "This Idempotency-Key was sent before with a different request; send a new key for "
    "a new checkout.",
    "field": "Idempotency-Key",
    "code": "idempotency_key_reused",
}


def _other_bodies(cart):
    line = cart["lines"][0]
    return {
        "more": {**cart, "lines": [{**line, "quantity": 3}]},
        "another address": {**cart, "billing": {**cart["billing"], "city": "Celje"}},
        "another product": {
            **cart,
            "lines": [{"product_id": ProductFactory().pk, "quantity": line["quantity"]}],
        },
    }


@pytest.mark.parametrize("change", ["more", "another address", "another product"])
def test_the_key_sent_again_with_another_body_is_refused_and_places_nothing(cart, change):
    buyer = UserFactory()
    first = _post(buyer, cart, key="order-0001")

    reused = _post(buyer, _other_bodies(cart)[change], key="order-0001")

    assert first.status_code == 201
    assert (reused.status_code, reused.json()) == (422, REUSED)
    assert Checkout.objects.count() == 1
    assert list(Order.objects.values_list("total_net", flat=True)) == [Decimal("25.98")]


def test_the_same_body_spelt_differently_is_the_same_request(cart):
    buyer = UserFactory()
    first = _post(buyer, cart, key="order-0002")
    reordered = json.dumps(
        {
            "billing": {**dict(reversed(cart["billing"].items())), "company": ""},
            "lines": cart["lines"],
        },
        indent=4,
    )
    client = APIClient()
    client.force_authenticate(buyer)

    retry = client.post(
        "/api/checkout/",
        reordered,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="order-0002",
    )

    assert (retry.status_code, retry.json()) == (200, first.json())
    assert Checkout.objects.count() == 1


def test_a_checkout_placed_before_fingerprints_were_kept_answers_its_key_as_before(cart):
    buyer = UserFactory()
    first = _post(buyer, cart, key="order-0003")
    Checkout.objects.update(submission_fingerprint="")

    retry = _post(buyer, _other_bodies(cart)["more"], key="order-0003")

    assert (retry.status_code, retry.json()) == (200, first.json())
    assert Checkout.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_and_different_bodies_place_one_checkout(cart):
    buyer = UserFactory()
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def check_out(body) -> None:
        try:
            barrier.wait()
            answers.append(_post(buyer, body, key="simultaneous").status_code)
        finally:
            connection.close()

    bodies = [cart, _other_bodies(cart)["more"]]
    threads = [threading.Thread(target=check_out, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [201, 422]
    assert Checkout.objects.count() == 1
    assert Order.objects.count() == 1
