"""Schemathesis over the OpenAPI schema: every operation, as an operator, a seller admin and a
buyer, in-process against the WSGI app on PostgreSQL, with Space Invoices answered by the
in-process sandbox.

Each response must not be a 5xx, must have a status the schema documents for the operation, and
a body and content type that match the schema. Generation is derandomized (the same cases on
every run, so a failure reproduces with the same command) and bounded so the whole run stays
within a few minutes on a CI machine.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from invoicing.models import Document, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace.wsgi import application
from sellers.models import SellerRole, SellerStatus
from tests.factories import ProductFactory, SellerFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": 25, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
# Loaded when the module is collected (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ("operator", "seller_admin", "buyer")

# Where a path's `{id}` names a row of the world below; other paths keep the generated id.
ID_KINDS = {
    "/api/orders/": "order",
    "/api/invoices/": "invoice",
    "/api/sellers/": "seller",
    "/api/catalog/products/": "product",
    "/api/reports/exports/": "export_job",
    "/api/reports/seller/exports/": "seller_export_job",
    "/api/seller/users/": "seller_user",
}
# An id no row has.
MISSING_ID = 2**31 - 1


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, int]


@contextmanager
def _test_transaction_kept() -> Iterator[None]:
    """The WSGI app closes the database connection around each request, which would end the
    test's transaction; Django's test client keeps it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(
    sandbox: Any,
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> World:
    """One onboarded seller (its admin, a product), a buyer whose order is paid and invoiced in
    the sandbox, an operator, and a finished export job of each kind."""
    settings.MEDIA_ROOT = tmp_path
    # Throttling is tested in test_hygiene; here it would only cut the run short.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates),
    }
    seller = seller_entity_create(
        seller_id=SellerFactory(status=SellerStatus.PENDING, entity_id=None).pk
    )
    admin = SellerUserFactory(seller=seller, role=SellerRole.ADMIN)
    users = {
        "operator": UserFactory(is_staff=True, is_superuser=True),
        "seller_admin": admin.user,
        "buyer": UserFactory(),
    }
    product = ProductFactory(seller=seller)
    client = APIClient()
    client.force_authenticate(users["buyer"])
    billing = {
        "name": "Ana Novak",
        "email": "ana@example.com",
        "address": "Prešernova 5",
        "post_code": "2000",
        "city": "Maribor",
        "country": "SI",
    }
    lines = [{"product_id": product.pk, "quantity": 2}]
    checkout = client.post("/api/checkout/", {"lines": lines, "billing": billing}, format="json")
    [order] = checkout.json()["orders"]
    client.force_authenticate(users["operator"])
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(f"/api/orders/{order['id']}/pay/")
    [invoice] = paid.json()["documents"]
    assert Document.objects.get(pk=invoice["id"]).state == DocumentState.ISSUED
    year = timezone.localdate().year
    jobs = {}
    for kind, path, role in (
        ("export_job", "/api/reports/exports/", "operator"),
        ("seller_export_job", "/api/reports/seller/exports/", "seller_admin"),
    ):
        client.force_authenticate(users[role])
        body = {"report": "documents", "date_from": f"{year}-01-01", "date_to": f"{year}-12-31"}
        with django_capture_on_commit_callbacks(execute=True):
            jobs[kind] = client.post(path, body, format="json").json()["id"]
    return World(
        tokens={role: Token.objects.create(user=user).key for role, user in users.items()},
        ids={
            "order": order["id"],
            "invoice": invoice["id"],
            "seller": seller.pk,
            "product": product.pk,
            "export_job": jobs["export_job"],
            "seller_export_job": jobs["seller_export_job"],
            "seller_user": admin.pk,
        },
    )


def _aim_at_world(case: schemathesis.Case, world: World) -> None:
    """Turn a generated non-negative id into the world's row (even ids) or one no row has (odd
    ids), so that operations get past their 404 too; other generated values stay."""
    path_parameters = case.path_parameters or {}
    generated = path_parameters.get("id")
    if not isinstance(generated, int) or generated < 0:
        return
    for prefix, kind in ID_KINDS.items():
        if case.path.startswith(prefix):
            path_parameters["id"] = MISSING_ID if generated % 2 else world.ids[kind]
            return


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
# The world is built once per operation and role, and its examples share it on purpose.
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_its_schema_says(case: schemathesis.Case, role: str, world: World):
    _aim_at_world(case, world)
    with _test_transaction_kept():
        case.call_and_validate(
            headers={"Authorization": f"Token {world.tokens[role]}"}, checks=CHECKS
        )
