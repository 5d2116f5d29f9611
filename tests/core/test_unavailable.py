"""When the broker, the database or the cache is away: a committed request still answers
success, an unreachable database or cache answers 503 (JSON under /api/), throttles fail open."""

import logging
from decimal import Decimal

import kombu.exceptions
import pytest
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.test import Client

from core.unavailable import UNAVAILABLE_PAGE
from invoicing import tasks
from invoicing.models import Document, DocumentState
from marketplace import selectors, services
from marketplace.storefront.views import catalog as catalog_views
from sellers.models import Seller, SellerStatus
from sellers.onboarding import SellerDetails, seller_onboard
from tests.factories import BILLING, ProductFactory, UserFactory, operator_user, seller_with_entity

pytestmark = pytest.mark.django_db

BROKER_DOWN = "Error 111 connecting to 127.0.0.1:6379. Connection refused."
API_BILLING = {
    "name": "Ana Novak",
    "email": "ana@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}
UNAVAILABLE = {
    "detail": "The service is unavailable for a moment; try again shortly.",
    "code": "unavailable",
}


def refuse(error: Exception):
    def raising(*args: object, **kwargs: object) -> None:
        raise error

    return raising


def test_a_payment_committed_while_the_broker_is_down_answers_200_and_leaves_the_row_pending(
    api_client, sandbox, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    product = ProductFactory(seller=seller_with_entity(), unit_price=Decimal("10.00"))
    checkout = services.checkout_create(
        buyer=UserFactory(), lines=[services.CartLine(product.pk, 1)], billing=BILLING
    )
    order = checkout.orders.get()
    monkeypatch.setattr(
        tasks.issue_document, "delay", refuse(kombu.exceptions.OperationalError(BROKER_DOWN))
    )
    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.record_order_payment")
    )

    with (
        caplog.at_level(logging.WARNING, logger="core.enqueue"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api_client.post(f"/api/orders/{order.pk}/pay/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid"
    invoice = Document.objects.get(order=order)
    assert invoice.state == DocumentState.PENDING  # the sweeper's to drive
    assert [r.getMessage() for r in caplog.records if r.name == "core.enqueue"] == [
        f"task invoicing.issue_document({invoice.pk},) not enqueued "
        f"(OperationalError: {BROKER_DOWN}); left for the sweeper"
    ]


def test_a_seller_onboarded_while_the_broker_is_down_is_saved_pending(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        tasks.create_seller_entity,
        "delay",
        refuse(kombu.exceptions.OperationalError(BROKER_DOWN)),
    )
    details = SellerDetails(
        business_name="Alpine Crafts d.o.o.",
        address="Main street 1",
        post_code="1000",
        city="Ljubljana",
        country="SI",
        email="billing@si.example",
        tax_number="SI50223054",
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        seller = seller_onboard(details=details)

    assert len(callbacks) == 1
    assert Seller.objects.get(pk=seller.pk).status == SellerStatus.PENDING


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "error",
    [
        OperationalError('connection to server at "127.0.0.1", port 5432 failed'),
        InterfaceError("connection already closed"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
    ],
)
def test_the_api_answers_503_json_while_the_database_or_cache_is_unavailable(
    settings, monkeypatch, caplog, debug, error
):
    settings.DEBUG = debug
    monkeypatch.setattr(selectors, "catalog_products", refuse(error))

    with caplog.at_level(logging.WARNING, logger="core.unavailable"):
        response = Client(raise_request_exception=False).get("/api/catalog/products/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "10"
    assert response.json() == UNAVAILABLE
    assert [r.getMessage() for r in caplog.records if r.name == "core.unavailable"] == [
        f"GET /api/catalog/products/ answered 503: {type(error).__name__}: {error}"
    ]


@pytest.mark.parametrize("debug", [True, False])
def test_the_storefront_answers_a_plain_503_page_while_the_database_is_unavailable(
    settings, monkeypatch, debug
):
    settings.DEBUG = debug
    monkeypatch.setattr(
        catalog_views, "catalog_products", refuse(OperationalError("server closed"))
    )

    response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Retry-After"] == "10"
    assert response.content.decode() == UNAVAILABLE_PAGE


def test_any_other_server_error_under_the_api_is_json_in_production(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setattr(selectors, "catalog_products", refuse(RuntimeError("bug")))

    response = Client(raise_request_exception=False).get("/api/catalog/products/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error.", "code": "server_error"}


def throttle_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "core.throttles"]


def test_api_login_and_checkout_work_with_the_throttles_cache_down(
    api_client, sandbox, cache_down, caplog
):
    UserFactory(username="ana", password="a long passphrase")
    product = ProductFactory(seller=seller_with_entity(), unit_price=Decimal("10.00"))

    with caplog.at_level(logging.WARNING, logger="core.throttles"):
        login = api_client.post(
            "/api/auth/token/", {"username": "ana", "password": "a long passphrase"}
        )
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
        checkout = api_client.post(
            "/api/checkout/",
            {"lines": [{"product_id": product.pk, "quantity": 1}], "billing": API_BILLING},
            format="json",
        )

    assert login.status_code == 200
    assert checkout.status_code == 201, checkout.json()
    assert throttle_warnings(caplog) == [
        f"throttle login not applied: its cache is unreachable ({cache_down})",
        f"throttle checkout not applied: its cache is unreachable ({cache_down})",
    ]


def test_the_login_page_works_with_the_throttles_cache_down(cache_down, caplog):
    UserFactory(username="ana", password="a long passphrase")

    with caplog.at_level(logging.WARNING, logger="core.throttles"):
        response = Client().post(
            "/accounts/login/", {"username": "ana", "password": "a long passphrase"}
        )

    assert response.status_code == 302
    assert throttle_warnings(caplog) == [
        f"throttle login not applied: its cache is unreachable ({cache_down})"
    ]


def test_a_checkout_checking_a_vat_number_works_with_the_cache_down(
    api_client, sandbox, cache_down, caplog
):
    product = ProductFactory(seller=seller_with_entity(), unit_price=Decimal("80.00"))
    api_client.force_authenticate(UserFactory())
    billing = {**API_BILLING, "country": "DE", "company": "Muster GmbH",
               "vat_number": "DE136695976"}  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="invoicing.vies"):
        response = api_client.post(
            "/api/checkout/",
            {"lines": [{"product_id": product.pk, "quantity": 1}], "billing": billing},
            format="json",
        )

    assert response.status_code == 201, response.json()
    [order] = response.json()["orders"]
    assert (order["transaction_type"], order["reverse_charge"]) == ("intra_eu_b2b", True)
    assert [r.getMessage() for r in caplog.records if r.name == "invoicing.vies"] == [
        f"VIES cache not read: the cache is unreachable ({cache_down})",
        f"VIES answer not cached: the cache is unreachable ({cache_down})",
    ]
