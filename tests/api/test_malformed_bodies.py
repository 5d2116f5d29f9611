"""A JSON body that is malformed or nested deeper than Python's decoder goes (5,000 `[`) is bad
input on every endpoint that reads one: 400 in the shape of every other bad input, nothing
written. Before, the nesting was a 500 (DRF lets the decoder's RecursionError through) and a
malformed body answered only `detail`."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import parsers
from rest_framework.test import APIClient

from core.models import AuditEvent
from core.parsers import JSONParser
from marketplace.models import Checkout, Order
from reporting.models import ExportJob
from sellers.models import Seller, SellerUser
from tests.factories import OrderFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db

NESTED = "[" * 5000
NESTED_ANSWER = {
    "detail": "JSON parse error - the body is nested too deeply.",
    "field": "body",
    "code": "malformed_body",
}
MALFORMED = '{"lines": ['
MALFORMED_ANSWER = {
    "detail": "JSON parse error - Expecting value: line 1 column 12 (char 11)",
    "field": "body",
    "code": "malformed_body",
}
# (path, who posts): anonymous, an operator, or a seller's admin. {order} is an order's id.
ENDPOINTS = [
    ("/api/auth/token/", "anonymous"),
    ("/api/buyers/", "anonymous"),
    ("/api/sellers/signup/", "anonymous"),
    ("/api/checkout/", "operator"),
    ("/api/checkout/vat-check/", "operator"),
    ("/api/orders/{order}/refund/", "operator"),
    ("/api/sellers/", "operator"),
    ("/api/reports/exports/", "operator"),
    ("/api/seller/users/", "seller_admin"),
]


def _client(who: str) -> APIClient:
    client = APIClient()
    if who == "operator":
        client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    elif who == "seller_admin":
        client.force_authenticate(SellerUserFactory().user)
    return client


def _written() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "sellers": Seller.objects.count(),
        "seller_users": SellerUser.objects.count(),
        "checkouts": Checkout.objects.count(),
        "orders": Order.objects.count(),
        "export_jobs": ExportJob.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


@pytest.mark.parametrize(
    ("body", "answer"), [(NESTED, NESTED_ANSWER), (MALFORMED, MALFORMED_ANSWER)]
)
@pytest.mark.parametrize(("path", "who"), ENDPOINTS)
def test_a_malformed_or_deeply_nested_body_is_a_400_naming_the_body(path, who, body, answer):
    client = _client(who)
    path = path.format(order=OrderFactory().pk)
    before = _written()

    response = client.post(path, body, content_type="application/json")

    assert (response.status_code, response.json()) == (400, answer)
    assert _written() == before


def test_nesting_python_decodes_still_reaches_validation():
    """Only what the decoder cannot take is a parse error: a shallower body is validated."""
    response = APIClient().post(
        "/api/buyers/", "[" * 100 + "]" * 100, content_type="application/json"
    )

    assert (response.status_code, response.json()["detail"]) == (
        400,
        "Invalid data. Expected a dictionary, but got list.",
    )


def _views(resolver: URLResolver) -> list[type]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _views(entry)
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            found.append(entry.callback.cls)
    return found


def test_every_api_view_parses_json_with_the_project_parser():
    """A view naming DRF's own JSON parser (as ObtainAuthToken does) would answer 500 again."""
    views = _views(get_resolver())
    json_parsers = {
        parser
        for view in views
        for parser in view.parser_classes
        if issubclass(parser, parsers.JSONParser)
    }

    assert len(views) > 30
    assert json_parsers == {JSONParser}
