from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicing.sandbox import create_app


def issues_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    found: list[dict[str, Any]] = body["cause"]["issues"]
    return found


def test_create_entity_derives_country_currency_locale_and_defaults(
    sandbox_http: httpx.Client,
) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "Trgovina d.o.o.", "country": "Slovenia", "city": "Ljubljana"}
    )

    assert response.status_code == 201
    entity = response.json()
    assert re.fullmatch(r"ent_[0-9a-f]{24}", entity["id"])
    assert re.fullmatch(r"acc_[0-9a-f]{24}", entity["account_id"])
    assert entity["environment"] == "sandbox"
    assert (entity["country"], entity["country_code"]) == ("Slovenia", "SI")
    assert entity["currency_code"] == "EUR"
    assert entity["locale"] == "sl-SI"
    assert entity["city"] == "Ljubljana"
    assert entity["is_tax_subject"] is True
    assert entity["is_enabled"] is True
    assert entity["metadata"] == {}
    assert entity["settings"] == {
        "number_formats": {"invoice": "{yyyy}-{nnnnn}", "credit_note": "CN-{yyyy}-{nnnnn}"},
        "number_sequence_starts": {},
        "primary_color": None,
        "has_logo": False,
        "document_footer": None,
        "default_invoice_due_days": 30,
    }
    assert entity["created_at"] == entity["updated_at"]
    assert entity["created_at"].endswith("Z")
    assert sandbox_http.get(f"/entities/{entity['id']}").json() == entity


@pytest.mark.parametrize(
    ("country_code", "country", "currency", "locale"),
    [
        ("de", "Germany", "EUR", "de-DE"),
        ("US", "United States", "USD", "en-US"),
        ("CH", "Switzerland", "CHF", "de-CH"),
    ],
)
def test_country_code_alone_derives_the_rest(
    sandbox_http: httpx.Client, country_code: str, country: str, currency: str, locale: str
) -> None:
    response = sandbox_http.post("/entities", json={"name": "Seller", "country_code": country_code})

    entity = response.json()
    assert response.status_code == 201
    assert entity["country_code"] == country_code.upper()
    assert (entity["country"], entity["currency_code"], entity["locale"]) == (
        country,
        currency,
        locale,
    )


def test_given_currency_and_locale_win_over_derived(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(
        "/entities",
        json={"name": "S", "country_code": "SI", "currency_code": "usd", "locale": "en_GB"},
    )

    assert (response.json()["currency_code"], response.json()["locale"]) == ("USD", "en-GB")


@pytest.mark.parametrize("code", ["QQ", "SVN", "EU"])
def test_unknown_country_code_is_rejected_naming_the_field(
    sandbox_http: httpx.Client, code: str
) -> None:
    response = sandbox_http.post("/entities", json={"name": "Seller", "country_code": code})

    message = f"unknown ISO 3166-1 alpha-2 code '{code}'"
    assert response.json() == {
        "code": "validation_error",
        "message": f"country_code: {message}",
        "cause": {"issues": [{"path": ["country_code"], "message": message}]},
    }


def test_missing_name_and_country_are_both_named(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post("/entities", json={})

    assert [issue["path"] for issue in issues_of(response)] == [["name"], ["country"]]


def test_country_and_country_code_must_agree(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "S", "country": "Austria", "country_code": "SI"}
    )

    assert issues_of(response) == [
        {"path": ["country"], "message": "'Austria' does not match country_code 'SI'"}
    ]


@pytest.mark.parametrize(
    ("legacy", "api_name", "value"),
    [
        ("zip", "post_code", "1000"),
        ("taxNumber", "tax_number", "SI1"),
        ("taxSubject", "is_tax_subject", True),
    ],
)
def test_legacy_field_names_are_rejected_with_the_api_name(
    sandbox_http: httpx.Client, legacy: str, api_name: str, value: object
) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "S", "country": "Slovenia", legacy: value}
    )

    assert issues_of(response) == [
        {"path": [legacy], "message": f"unknown field; the API name is '{api_name}'"}
    ]


@pytest.mark.parametrize(
    ("metadata", "path"),
    [
        ({f"k{i}": "v" for i in range(51)}, ["metadata"]),
        ({"note": "x" * 251}, ["metadata", "note"]),
        ({"count": 3}, ["metadata", "count"]),
        ("seller-1", ["metadata"]),
    ],
)
def test_metadata_limits(sandbox_http: httpx.Client, metadata: object, path: list[str]) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "S", "country": "Slovenia", "metadata": metadata}
    )

    assert [issue["path"] for issue in issues_of(response)] == [path]


def test_metadata_at_the_limits_is_accepted(sandbox_http: httpx.Client) -> None:
    metadata = {f"k{i}": "x" * 250 for i in range(50)}

    response = sandbox_http.post(
        "/entities", json={"name": "S", "country": "Slovenia", "metadata": metadata}
    )

    assert response.status_code == 201
    assert response.json()["metadata"] == metadata


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"number_formats": {"invoice": "INV-{yyyy}"}}, ["settings", "number_formats", "invoice"]),
        ({"number_formats": {"invoice": "{mm}-{nnn}"}}, ["settings", "number_formats", "invoice"]),
        ({"primary_color": "red;}"}, ["settings", "primary_color"]),
        ({"default_invoice_due_days": -1}, ["settings", "default_invoice_due_days"]),
        ({"default_invoice_due_days": None}, ["settings", "default_invoice_due_days"]),
        ({"number_formats": None}, ["settings", "number_formats"]),
        (
            {"number_sequence_starts": {"invoice": 0}},
            ["settings", "number_sequence_starts", "invoice"],
        ),
    ],
)
def test_invalid_settings_are_rejected(
    sandbox_http: httpx.Client, settings: dict[str, Any], path: list[str]
) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "S", "country": "Slovenia", "settings": settings}
    )

    assert [issue["path"] for issue in issues_of(response)] == [path]


def test_live_key_makes_live_entities(
    tmp_path: Path, sandbox_client: Callable[..., httpx.Client]
) -> None:
    live_app = create_app(tmp_path / "live.sqlite3", ["sk_live_prod"])
    live = sandbox_client("sk_live_prod", app=live_app)

    created = live.post("/entities", json={"name": "S", "country": "Slovenia"})
    mismatch = live.post(
        "/entities", json={"name": "S", "country": "Slovenia", "environment": "sandbox"}
    )

    assert created.json()["environment"] == "live"
    assert issues_of(mismatch) == [
        {"path": ["environment"], "message": "must be 'live' for this key"}
    ]


def test_patch_merges_fields_settings_and_metadata(
    sandbox_http: httpx.Client, make_entity: Callable[..., dict[str, Any]]
) -> None:
    entity = make_entity(tax_number="SI12345678", metadata={"seller_id": "s1", "tier": "gold"})

    response = sandbox_http.patch(
        f"/entities/{entity['id']}",
        json={
            "city": "Maribor",
            "settings": {
                "number_formats": {"invoice": "INV-{yy}-{nnn}"},
                "primary_color": "#0a7d4f",
            },
            "metadata": {"tier": None, "region": "east"},
        },
    )

    patched = response.json()
    assert response.status_code == 200
    assert patched["city"] == "Maribor"
    assert patched["tax_number"] == "SI12345678"
    assert patched["settings"]["number_formats"] == {
        "invoice": "INV-{yy}-{nnn}",
        "credit_note": "CN-{yyyy}-{nnnnn}",
    }
    assert patched["settings"]["primary_color"] == "#0a7d4f"
    assert patched["settings"]["default_invoice_due_days"] == 30
    assert patched["metadata"] == {"seller_id": "s1", "region": "east"}
    assert patched["created_at"] == entity["created_at"]
    assert sandbox_http.get(f"/entities/{entity['id']}").json() == patched


def test_patch_country_derives_currency_and_locale_again(
    sandbox_http: httpx.Client, make_entity: Callable[..., dict[str, Any]]
) -> None:
    entity = make_entity()

    patched = sandbox_http.patch(f"/entities/{entity['id']}", json={"country_code": "CH"}).json()

    assert (patched["country"], patched["currency_code"], patched["locale"]) == (
        "Switzerland",
        "CHF",
        "de-CH",
    )


def test_invalid_patch_changes_nothing(
    sandbox_http: httpx.Client, make_entity: Callable[..., dict[str, Any]]
) -> None:
    entity = make_entity()

    response = sandbox_http.patch(
        f"/entities/{entity['id']}", json={"city": "Koper", "is_tax_subject": "yes"}
    )

    assert issues_of(response) == [{"path": ["is_tax_subject"], "message": "must be true or false"}]
    assert sandbox_http.get(f"/entities/{entity['id']}").json() == entity


def test_entities_of_another_account_are_not_found(
    sandbox_http: httpx.Client,
    other_account_http: httpx.Client,
    make_entity: Callable[..., dict[str, Any]],
) -> None:
    entity = make_entity()

    read = other_account_http.get(f"/entities/{entity['id']}")
    patch = other_account_http.patch(f"/entities/{entity['id']}", json={"name": "Taken"})

    assert read.status_code == patch.status_code == 404
    assert read.json() == {"code": "not_found", "message": f"entity {entity['id']} not found"}
    assert other_account_http.get("/entities").json()["data"] == []
    assert [e["id"] for e in sandbox_http.get("/entities").json()["data"]] == [entity["id"]]
    assert sandbox_http.get(f"/entities/{entity['id']}").json()["name"] == entity["name"]
