"""Northern Ireland (``XI``): in the EU VAT area for goods, one VAT country with Great Britain."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import EntityFactory
from tests.sandbox.test_sandbox_documents import create, line


def test_an_entity_in_northern_ireland_takes_the_uk_currency_and_locale(
    make_entity: EntityFactory,
) -> None:
    entity = make_entity(name="Belfast Goods Ltd", country_code="XI")

    assert (entity["country_code"], entity["currency_code"], entity["locale"]) == (
        "XI",
        "GBP",
        "en-GB",
    )


@pytest.mark.parametrize(
    ("issuer", "customer", "expected"),
    [
        # GB <-> XI goods: a UK domestic supply.
        ({"country_code": "GB"}, {"country_code": "XI"}, ("domestic", False, None)),
        ({"country_code": "XI"}, {"country_code": "GB"}, ("domestic", False, None)),
        # EU <-> XI goods: intra-EU; VIES knows XI numbers.
        (
            {"country_code": "DE"},
            {"country_code": "XI", "tax_number": "XI980780684"},
            ("intra_eu_b2b", True, True),
        ),
        ({"country_code": "XI"}, {"country_code": "IE"}, ("intra_eu_b2c", False, None)),
        # XI to outside the EU: an export, reverse charged like any EU issuer's.
        ({"country_code": "XI"}, {"country_code": "US"}, ("3w_b2c", True, None)),
        # GB stays outside: no reverse charge on its exports, and its sales to the EU are 3w.
        ({"country_code": "GB"}, {"country_code": "FR"}, ("3w_b2c", False, None)),
    ],
)
def test_transaction_type_check_places_northern_ireland(
    sandbox_http: httpx.Client,
    issuer: dict[str, Any],
    customer: dict[str, Any],
    expected: tuple[str, bool, bool | None],
) -> None:
    response = sandbox_http.post(
        "/transaction-type/check", json={"issuer": issuer, "customer": customer}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["transaction_type"], body["reverse_charge_applies"], body["vies_valid"]) == (
        expected
    )


@pytest.mark.parametrize(
    ("issuer_country", "customer", "transaction_type"),
    [
        ("GB", {"name": "Ann", "country_code": "XI"}, "domestic"),
        ("XI", {"name": "Bob", "country_code": "GB"}, "domestic"),
        ("XI", {"name": "Ltd", "country_code": "DE", "tax_number": "DE136695976"}, "intra_eu_b2b"),
        ("SI", {"name": "Cara", "country_code": "XI"}, "intra_eu_b2c"),
        ("GB", {"name": "Hans", "country_code": "DE"}, "3w_b2c"),
    ],
)
def test_documents_place_northern_ireland(
    sandbox_http: httpx.Client,
    make_entity: EntityFactory,
    issuer_country: str,
    customer: dict[str, Any],
    transaction_type: str,
) -> None:
    make_entity(country_code=issuer_country)

    invoice = create(sandbox_http, "/invoices", {"customer": customer, "items": [line(rate=20)]})

    assert invoice["transaction_type"] == transaction_type
