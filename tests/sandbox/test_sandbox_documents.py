from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

EntityFactory = Callable[..., dict[str, Any]]


def decimal_json(response: httpx.Response) -> Any:
    """The answer with numbers as Decimal, to compare amounts exactly."""
    return json.loads(response.text, parse_float=Decimal)


def line(
    name: str = "Mug", quantity: Any = 1, price: Any = "10.00", rate: Any = 22
) -> dict[str, Any]:
    return {"name": name, "quantity": quantity, "price": price, "taxes": [{"rate": rate}]}


def create(
    http: httpx.Client, path: str, body: dict[str, Any], entity_id: str | None = None
) -> dict[str, Any]:
    headers = {"x-entity-id": entity_id} if entity_id else {}
    response = http.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = decimal_json(response)
    return document


def issues_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    found: list[dict[str, Any]] = body["cause"]["issues"]
    return found


def test_multi_rate_invoice_has_exact_totals(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(
        sandbox_http,
        "/invoices",
        {
            "date": "2026-03-01",
            "customer": {"name": "Kunde GmbH", "country_code": "DE", "tax_number": "DE136695976"},
            "items": [
                line("Mug", 2, "10.00", 22),
                line("Tea", 1, "5.55", "9.5"),
                {**line("Lamp", 1, "30.00", 22), "discounts": [{"value": 10, "type": "percent"}]},
            ],
            "payments": [{"amount": "10.00", "type": "card", "date": "2026-03-02"}],
            "metadata": {"order_id": "o1"},
        },
    )

    assert re.fullmatch(r"inv_[0-9a-f]{24}", invoice["id"])
    assert re.fullmatch(r"[0-9a-f]{24}", invoice["shareable_id"])
    assert invoice["entity_id"] == entity["id"]
    assert (invoice["number"], invoice["date"], invoice["date_due"], invoice["date_service"]) == (
        "2026-00001",
        "2026-03-01",
        "2026-03-31",
        "2026-03-01",
    )
    assert [i["total"] for i in invoice["items"]] == [
        Decimal("20.00"),
        Decimal("5.55"),
        Decimal("27.00"),
    ]
    assert [i["total_with_tax"] for i in invoice["items"]] == [
        Decimal("24.40"),
        Decimal("6.08"),
        Decimal("32.94"),
    ]
    assert [i["total_discount"] for i in invoice["items"]] == [0, 0, Decimal("3.00")]
    assert invoice["taxes"] == [
        {"rate": 22, "base": Decimal("47.00"), "amount": Decimal("10.34"), "reverse_charge": False},
        {
            "rate": Decimal("9.5"),
            "base": Decimal("5.55"),
            "amount": Decimal("0.53"),
            "reverse_charge": False,
        },
    ]
    assert invoice["total"] == Decimal("52.55")
    assert invoice["total_with_tax"] == Decimal("63.42")
    assert invoice["total_discount"] == Decimal("3.00")
    assert (invoice["total_paid"], invoice["total_due"], invoice["paid_in_full"]) == (
        Decimal("10.00"),
        Decimal("53.42"),
        False,
    )
    [payment] = invoice["payments"]
    assert re.fullmatch(r"pmt_[0-9a-f]{24}", payment["id"])
    assert {key: value for key, value in payment.items() if key != "id"} == {
        "entity_id": invoice["entity_id"],
        "document_id": invoice["id"],
        "amount": 10,
        "type": "card",
        "date": "2026-03-02",
        "tag": None,
        "reference": None,
        "note": None,
        "metadata": {},
        "currency_code": "EUR",
        "created_at": invoice["created_at"],
        "updated_at": invoice["created_at"],
        "deleted_at": None,
    }
    assert invoice["currency_code"] == "EUR"
    assert invoice["issuer"] == {
        "name": "Trgovina d.o.o.",
        "address": "Slovenska cesta 1",
        "address_2": None,
        "post_code": "1000",
        "city": "Ljubljana",
        "country": "Slovenia",
        "country_code": "SI",
        "tax_number": "SI12345678",
        "email": "billing@trgovina.si",
    }
    assert invoice["customer"]["country"] == "Germany"
    assert invoice["transaction_type"] == "intra_eu_b2b"
    assert (invoice["is_draft"], invoice["voided_at"], invoice["metadata"]) == (
        False,
        None,
        {"order_id": "o1"},
    )
    assert "linked_documents" not in invoice
    assert decimal_json(sandbox_http.get(f"/invoices/{invoice['id']}")) == invoice


def test_payments_covering_the_total_pay_it_in_full(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(
        sandbox_http,
        "/invoices",
        {"items": [line(price="10.00")], "payments": [{"amount": "12.20", "type": "cash"}]},
    )

    assert (invoice["total_due"], invoice["paid_in_full"]) == (0, True)


def test_gross_price_line_derives_the_net_price(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(
        sandbox_http,
        "/invoices",
        {
            "items": [
                {"name": "Book", "quantity": 3, "gross_price": "12.20", "taxes": [{"rate": 22}]}
            ]
        },
    )

    item = invoice["items"][0]
    assert (item["price"], item["gross_price"], item["total"]) == (10, Decimal("12.20"), 30)
    assert (invoice["total"], invoice["total_with_tax"]) == (30, Decimal("36.60"))


def test_amount_discount_reverse_charge_and_untaxed_lines(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(
        sandbox_http,
        "/invoices",
        {
            "items": [
                {
                    "name": "Consulting",
                    "quantity": "1.5",
                    "price": "100.00",
                    "discounts": [{"value": "15.25", "type": "amount"}],
                    "taxes": [{"rate": 22, "reverse_charge": True}],
                },
                {"name": "Postage", "quantity": 1, "price": "3.333"},
            ]
        },
    )

    assert [i["total"] for i in invoice["items"]] == [Decimal("134.75"), Decimal("3.33")]
    assert invoice["taxes"] == [
        {"rate": 22, "base": Decimal("134.75"), "amount": 0, "reverse_charge": True}
    ]
    assert (invoice["total"], invoice["total_with_tax"], invoice["total_discount"]) == (
        Decimal("138.08"),
        Decimal("138.08"),
        Decimal("15.25"),
    )


def test_amounts_round_half_up_to_the_currency_minor_unit(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    make_entity(country_code="JP")

    invoice = create(sandbox_http, "/invoices", {"items": [line("Tea", 1, "100.5", 10)]})

    assert invoice["currency_code"] == "JPY"
    assert (invoice["total"], invoice["taxes"][0]["amount"], invoice["total_with_tax"]) == (
        101,
        10,
        111,
    )


def test_expected_total_mismatch_is_rejected_and_creates_nothing(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    body = {"items": [line(price="10.00")], "expected_total_with_tax": "12.21"}

    response = sandbox_http.post("/invoices", json=body)

    assert issues_of(response) == [
        {
            "path": ["expected_total_with_tax"],
            "message": "is 12.21 but the computed total_with_tax is 12.20",
        }
    ]
    assert sandbox_http.get("/invoices").json()["data"] == []
    matching = create(sandbox_http, "/invoices", {**body, "expected_total_with_tax": "12.2"})
    assert matching["number"].endswith("-00001")


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, [["items"]]),
        ({"items": []}, [["items"]]),
        ({"items": [{"name": "Mug", "quantity": -1, "price": 1}]}, [["items", 0, "quantity"]]),
        ({"items": [{"quantity": 1, "price": 1}]}, [["items", 0, "name"]]),
        ({"items": [{"name": "Mug", "price": 1}]}, [["items", 0, "quantity"]]),
        ({"items": [{"name": "Mug", "quantity": 1}]}, [["items", 0, "price"]]),
        (
            {"items": [{"name": "Mug", "quantity": 1, "price": 1, "gross_price": 1}]},
            [["items", 0, "price"]],
        ),
        ({"items": [{"name": "Mug", "quantity": "many", "price": 1}]}, [["items", 0, "quantity"]]),
        ({"items": [line(rate=120)]}, [["items", 0, "taxes", 0, "rate"]]),
        (
            {"items": [{**line(), "taxes": [{"tax_id": "tax_1"}]}]},
            [["items", 0, "taxes", 0, "tax_id"]],
        ),
        (
            {"items": [{**line(), "discounts": [{"value": 5, "type": "coupon"}]}]},
            [["items", 0, "discounts", 0, "type"]],
        ),
        (
            {"items": [{**line(), "discounts": [{"value": 150, "type": "percent"}]}]},
            [["items", 0, "discounts", 0, "value"]],
        ),
        (
            {"items": [{**line(), "discounts": [{"value": 50, "type": "amount"}]}]},
            [["items", 0, "discounts"]],
        ),
        ({"items": [line()], "date": "01.03.2026"}, [["date"]]),
        ({"items": [line()], "date": "2026-03-10", "date_due": "2026-03-01"}, [["date_due"]]),
        ({"items": [line()], "currency_code": "XYZ"}, [["currency_code"]]),
        ({"items": [line()], "customer": {"country_code": "SI"}}, [["customer", "name"]]),
        ({"items": [line()], "customer_id": "cust_1"}, [["customer_id"]]),
        (
            {"items": [line()], "payments": [{"amount": 5, "type": "iou"}]},
            [["payments", 0, "type"]],
        ),
        ({"items": [line()], "payments": [{"amount": 50, "type": "cash"}]}, [["payments"]]),
        ({"items": [line()], "metadata": {"order_id": 7}}, [["metadata", "order_id"]]),
        ({"items": [line()], "linked_documents": ["inv_1"]}, [["linked_documents", 0]]),
        (
            {"items": [{"name": "", "quantity": 0, "price": -1}]},
            [["items", 0, "name"], ["items", 0, "quantity"], ["items", 0, "price"]],
        ),
    ],
)
def test_invalid_invoices_name_every_bad_field(
    sandbox_http: httpx.Client, entity: dict[str, Any], body: dict[str, Any], paths: list[list[Any]]
) -> None:
    response = sandbox_http.post("/invoices", json=body)

    assert [issue["path"] for issue in issues_of(response)] == paths
    assert sandbox_http.get("/invoices").json()["data"] == []


def test_invoices_and_credit_notes_have_their_own_sequences(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    first = create(sandbox_http, "/invoices", {"date": "2026-03-01", "items": [line()]})
    second = create(sandbox_http, "/invoices", {"date": "2026-03-02", "items": [line()]})
    credit = create(
        sandbox_http,
        "/credit-notes",
        {"date": "2026-03-05", "items": [line()], "linked_documents": [first["id"]]},
    )

    assert (first["number"], second["number"]) == ("2026-00001", "2026-00002")
    assert re.fullmatch(r"cre_[0-9a-f]{24}", credit["id"])
    assert (credit["number"], credit["linked_documents"]) == ("CN-2026-00001", [first["id"]])
    assert decimal_json(sandbox_http.get(f"/credit-notes/{credit['id']}")) == credit
    assert sandbox_http.get(f"/invoices/{credit['id']}").status_code == 404
    assert sandbox_http.get(f"/credit-notes/{first['id']}").status_code == 404
    assert [d["id"] for d in sandbox_http.get("/credit-notes").json()["data"]] == [credit["id"]]


def test_credit_notes_link_only_invoices_of_their_entity(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    seller_a, seller_b = make_entity(name="A"), make_entity(name="B")
    invoice_a = create(sandbox_http, "/invoices", {"items": [line()]}, seller_a["id"])
    credit_a = create(
        sandbox_http,
        "/credit-notes",
        {"items": [line()], "linked_documents": [invoice_a["id"]]},
        seller_a["id"],
    )

    response = sandbox_http.post(
        "/credit-notes",
        json={"items": [line()], "linked_documents": [invoice_a["id"], credit_a["id"]]},
        headers={"x-entity-id": seller_b["id"]},
    )

    assert issues_of(response) == [
        {
            "path": ["linked_documents", 0],
            "message": f"no invoice '{invoice_a['id']}' in this entity",
        },
        {
            "path": ["linked_documents", 1],
            "message": f"no invoice '{credit_a['id']}' in this entity",
        },
    ]


def test_sequences_restart_each_year(sandbox_http: httpx.Client, entity: dict[str, Any]) -> None:
    numbers = [
        create(sandbox_http, "/invoices", {"date": date, "items": [line()]})["number"]
        for date in ("2026-12-31", "2027-01-01", "2026-12-31", "2027-02-01")
    ]

    assert numbers == ["2026-00001", "2027-00001", "2026-00002", "2027-00002"]


def test_custom_formats_with_yy_tokens_and_sequence_starts(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    make_entity(
        settings={
            "number_formats": {"invoice": "INV-{yy}/{nnn}", "credit_note": "{n}"},
            "number_sequence_starts": {"invoice": 42},
        }
    )

    invoices = [
        create(sandbox_http, "/invoices", {"date": date, "items": [line()]})["number"]
        for date in ("2026-05-01", "2026-05-02", "2027-01-01")
    ]
    credits = [
        create(sandbox_http, "/credit-notes", {"date": date, "items": [line()]})["number"]
        for date in ("2026-05-01", "2027-01-01")
    ]

    assert invoices == ["INV-26/042", "INV-26/043", "INV-27/042"]
    assert credits == ["1", "2"]


def test_drafts_have_no_number_and_use_none(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    draft = create(sandbox_http, "/invoices", {"is_draft": True, "items": [line()]})
    issued = create(sandbox_http, "/invoices", {"date": "2026-04-01", "items": [line()]})

    assert (draft["is_draft"], draft["number"]) == (True, None)
    assert issued["number"] == "2026-00001"


def test_dates_default_to_today_and_the_entity_due_days(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    make_entity(settings={"default_invoice_due_days": 14})
    today = dt.datetime.now(dt.UTC).date()

    invoice = create(sandbox_http, "/invoices", {"items": [line()]})

    assert (invoice["date"], invoice["date_due"], invoice["date_service"]) == (
        today.isoformat(),
        (today + dt.timedelta(days=14)).isoformat(),
        today.isoformat(),
    )
    assert invoice["number"] == f"{today.year}-00001"


@pytest.mark.parametrize(
    ("customer", "transaction_type"),
    [
        (None, "domestic"),
        ({"name": "Ana", "country": "Slovenia"}, "domestic"),
        ({"name": "GmbH", "country_code": "DE", "tax_number": "DE136695976"}, "intra_eu_b2b"),
        # Well-formed but not registered in VIES, or malformed: not a B2B sale.
        ({"name": "GmbH", "country_code": "DE", "tax_number": "DE123456788"}, "intra_eu_b2c"),
        ({"name": "GmbH", "country_code": "DE", "tax_number": "DE1"}, "intra_eu_b2c"),
        ({"name": "Hans", "country_code": "DE"}, "intra_eu_b2c"),
        (
            {
                "name": "Hans",
                "country_code": "DE",
                "tax_number": "DE136695976",
                "is_end_consumer": True,
            },
            "intra_eu_b2c",
        ),
        ({"name": "Inc", "country_code": "US", "tax_number": "12-3"}, "3w_b2b"),
        ({"name": "Joe", "country_code": "US"}, "3w_b2c"),
    ],
)
def test_transaction_type(
    sandbox_http: httpx.Client,
    entity: dict[str, Any],
    customer: dict[str, Any] | None,
    transaction_type: str,
) -> None:
    invoice = create(sandbox_http, "/invoices", {"customer": customer, "items": [line()]})

    assert invoice["transaction_type"] == transaction_type


def test_an_issuer_that_is_not_a_tax_subject_sells_b2c(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    make_entity(is_tax_subject=False)
    customer = {"name": "GmbH", "country_code": "AT", "tax_number": "ATU1"}

    invoice = create(sandbox_http, "/invoices", {"customer": customer, "items": [line()]})

    assert invoice["transaction_type"] == "intra_eu_b2c"


def test_entity_context_is_required_with_several_entities(
    sandbox_http: httpx.Client, other_account_http: httpx.Client, make_entity: EntityFactory
) -> None:
    assert sandbox_http.post("/invoices", json={"items": [line()]}).status_code == 400
    only = make_entity(name="Only")
    implicit = create(sandbox_http, "/invoices", {"items": [line()]})
    make_entity(name="Second")

    missing = sandbox_http.post("/invoices", json={"items": [line()]})
    unknown = sandbox_http.get("/invoices", headers={"x-entity-id": "ent_000000000000000000000000"})
    foreign = other_account_http.get("/invoices", headers={"x-entity-id": only["id"]})

    assert implicit["entity_id"] == only["id"]
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "entity_required",
        "message": "send the x-entity-id header: the account has several entities",
    }
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")


def test_entities_are_isolated(sandbox_http: httpx.Client, make_entity: EntityFactory) -> None:
    seller_a, seller_b = make_entity(name="A"), make_entity(name="B")
    invoice_a = create(
        sandbox_http, "/invoices", {"date": "2026-01-05", "items": [line()]}, seller_a["id"]
    )
    invoice_b = create(
        sandbox_http, "/invoices", {"date": "2026-01-05", "items": [line()]}, seller_b["id"]
    )

    cross = sandbox_http.get(
        f"/invoices/{invoice_a['id']}", headers={"x-entity-id": seller_b["id"]}
    )
    listed_b = sandbox_http.get("/invoices", headers={"x-entity-id": seller_b["id"]}).json()

    assert (invoice_a["number"], invoice_b["number"]) == ("2026-00001", "2026-00001")
    assert (invoice_a["entity_id"], invoice_b["entity_id"]) == (seller_a["id"], seller_b["id"])
    assert invoice_b["issuer"]["name"] == "B"
    assert cross.status_code == 404
    assert cross.json() == {"code": "not_found", "message": f"invoice {invoice_a['id']} not found"}
    assert [d["id"] for d in listed_b["data"]] == [invoice_b["id"]]
