from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest


def invoice(order_id: str, date: str, price: str, customer: str = "Ana") -> dict[str, Any]:
    return {
        "date": date,
        "customer": {"name": customer, "country_code": "SI"},
        "items": [{"name": "Mug", "quantity": 1, "price": price}],
        "metadata": {"order_id": order_id, "channel": "web" if order_id != "o3" else "pos"},
    }


@pytest.fixture
def invoices(sandbox_http: httpx.Client, entity: dict[str, Any]) -> list[dict[str, Any]]:
    """Five invoices of one entity, in creation order."""
    bodies = [
        invoice("o1", "2026-01-10", "50.00", "Ana Novak"),
        invoice("o2", "2026-01-05", "10.00", "Bojan Kranjc"),
        invoice("o3", "2026-02-01", "30.00", "Ana Kovač"),
        invoice("o4", "2026-02-15", "20.00", "Cene Zupan"),
        invoice("o5", "2026-03-01", "40.00", "Dora Novak"),
    ]
    created = []
    for body in bodies:
        response = sandbox_http.post("/invoices", json=body)
        assert response.status_code == 201
        created.append(response.json())
    return created


def listed(http: httpx.Client, path: str = "/invoices", **params: Any) -> dict[str, Any]:
    if "query" in params:
        params["query"] = json.dumps(params["query"])
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def orders(page: dict[str, Any]) -> list[str]:
    return [document["metadata"]["order_id"] for document in page["data"]]


@pytest.mark.parametrize(
    "query",
    [
        {"metadata.order_id": {"equals": "o2"}},
        {"metadata": {"order_id": {"equals": "o2"}}},
        {"metadata.order_id": "o2"},
        {"metadata": {"order_id": "o2"}},
    ],
    ids=["dotted", "nested", "dotted-bare", "nested-bare"],
)
def test_metadata_filters_dotted_and_nested(
    sandbox_http: httpx.Client, invoices: list[dict[str, Any]], query: dict[str, Any]
) -> None:
    page = listed(sandbox_http, query=query)

    assert [d["id"] for d in page["data"]] == [invoices[1]["id"]]
    assert page["pagination"] == {
        "total": 1,
        "next_cursor": None,
        "prev_cursor": None,
        "has_more": False,
    }


def test_total_is_minus_one_without_include_total_count(
    sandbox_http: httpx.Client, invoices: list[dict[str, Any]]
) -> None:
    page = listed(sandbox_http, limit=2, include_total_count="false")

    assert (len(page["data"]), page["pagination"]["total"], page["pagination"]["has_more"]) == (
        2,
        -1,
        True,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"metadata.order_id": {"not": "o2"}}, ["o1", "o3", "o4", "o5"]),
        ({"metadata.order_id": {"in": ["o1", "o4"]}}, ["o1", "o4"]),
        ({"metadata.order_id": {"notIn": ["o1", "o4"]}}, ["o2", "o3", "o5"]),
        ({"total": {"gt": 30}}, ["o1", "o5"]),
        ({"total": {"gte": 30}}, ["o1", "o3", "o5"]),
        ({"total": {"lt": "30"}}, []),
        ({"total_with_tax": {"lte": 24.4}}, ["o2", "o4"]),
        ({"date": {"between": ["2026-01-06", "2026-02-01"]}}, ["o1", "o3"]),
        ({"customer.name": {"contains": "Novak"}}, ["o1", "o5"]),
        ({"customer.name": {"startsWith": "Ana"}}, ["o1", "o3"]),
        ({"customer.name": {"endsWith": "Zupan"}}, ["o4"]),
        ({"number": {"equals": "2026-00003"}}, ["o3"]),
        ({"items.0.total": {"gt": 35}}, ["o1", "o5"]),
        ({"is_draft": {"equals": False}, "metadata.channel": "pos"}, ["o3"]),
        ({"is_draft": 0}, []),
        ({"voided_at": None}, ["o1", "o2", "o3", "o4", "o5"]),
        ({"metadata.missing": {"equals": "x"}}, []),
        ({"total": {"gte": 20, "lte": 40}}, ["o3", "o4", "o5"]),
    ],
)
def test_query_operators(
    sandbox_http: httpx.Client,
    invoices: list[dict[str, Any]],
    query: dict[str, Any],
    expected: list[str],
) -> None:
    assert orders(listed(sandbox_http, query=query)) == expected


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("{not json", ["query"]),
        ("[1, 2]", ["query"]),
        ('{"total": {"gt": 1, "amount": 2}}', ["query", "total"]),
        ('{"total": {}}', ["query", "total"]),
        ('{"total": {"in": 5}}', ["query", "total", "in"]),
        ('{"total": {"between": [1]}}', ["query", "total", "between"]),
        ('{"name": {"contains": 5}}', ["query", "name", "contains"]),
        ('{"total": {"gt": true}}', ["query", "total", "gt"]),
        ('{"metadata..order_id": "o1"}', ["query", "metadata..order_id"]),
    ],
)
def test_malformed_queries_name_the_query(
    sandbox_http: httpx.Client, entity: dict[str, Any], query: str, path: list[str]
) -> None:
    response = sandbox_http.get("/invoices", params={"query": query})

    assert response.status_code == 422
    assert [issue["path"] for issue in response.json()["cause"]["issues"]] == [path]


def test_pages_follow_cursors_both_ways(
    sandbox_http: httpx.Client, invoices: list[dict[str, Any]]
) -> None:
    first = listed(sandbox_http, limit=2, include_total_count="true")
    second = listed(
        sandbox_http,
        limit=2,
        next_cursor=first["pagination"]["next_cursor"],
        include_total_count="false",
    )
    third = listed(sandbox_http, limit=2, next_cursor=second["pagination"]["next_cursor"])
    back = listed(sandbox_http, limit=2, prev_cursor=third["pagination"]["prev_cursor"])
    start = listed(sandbox_http, limit=2, prev_cursor=back["pagination"]["prev_cursor"])

    assert (orders(first), orders(second), orders(third)) == (
        ["o1", "o2"],
        ["o3", "o4"],
        ["o5"],
    )
    assert first["pagination"]["total"] == 5
    assert second["pagination"]["total"] == -1
    assert (first["pagination"]["has_more"], first["pagination"]["prev_cursor"]) == (True, None)
    assert second["pagination"]["has_more"] is True
    assert second["pagination"]["prev_cursor"] is not None
    assert third["pagination"]["has_more"] is False
    assert third["pagination"]["next_cursor"] is None
    assert (orders(back), orders(start)) == (["o3", "o4"], ["o1", "o2"])
    assert start["pagination"]["prev_cursor"] is None
    assert orders(listed(sandbox_http)) == ["o1", "o2", "o3", "o4", "o5"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("date", ["o2", "o1", "o3", "o4", "o5"]),
        ("-date", ["o5", "o4", "o3", "o1", "o2"]),
        ("-total", ["o1", "o5", "o3", "o4", "o2"]),
        ("-id", ["o5", "o4", "o3", "o2", "o1"]),
        ("metadata.channel", ["o3", "o1", "o2", "o4", "o5"]),
    ],
)
def test_order_by_pages_in_that_order(
    sandbox_http: httpx.Client,
    invoices: list[dict[str, Any]],
    order_by: str,
    expected: list[str],
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "order_by": order_by}
        if cursor:
            params["next_cursor"] = cursor
        page = listed(sandbox_http, **params)
        seen += orders(page)
        cursor = page["pagination"]["next_cursor"]
        if not page["pagination"]["has_more"]:
            break

    assert seen == expected


def test_filters_and_cursors_combine(
    sandbox_http: httpx.Client, invoices: list[dict[str, Any]]
) -> None:
    query = {"metadata.channel": "web"}

    first = listed(sandbox_http, limit=3, query=query, include_total_count="1")
    second = listed(
        sandbox_http, limit=3, query=query, next_cursor=first["pagination"]["next_cursor"]
    )

    assert (orders(first), orders(second)) == (["o1", "o2", "o4"], ["o5"])
    assert first["pagination"]["total"] == 4


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"limit": "0"}, ["limit"]),
        ({"limit": "101"}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"order_by": "total desc"}, ["order_by"]),
        ({"include_total_count": "maybe"}, ["include_total_count"]),
        ({"next_cursor": "not-a-cursor"}, ["next_cursor"]),
        ({"prev_cursor": "e30"}, ["prev_cursor"]),
    ],
)
def test_invalid_list_parameters_are_named(
    sandbox_http: httpx.Client, entity: dict[str, Any], params: dict[str, str], path: list[str]
) -> None:
    response = sandbox_http.get("/invoices", params=params)

    assert response.status_code == 422
    assert [issue["path"] for issue in response.json()["cause"]["issues"]] == [path]


def test_a_cursor_belongs_to_its_order(
    sandbox_http: httpx.Client, invoices: list[dict[str, Any]]
) -> None:
    cursor = listed(sandbox_http, limit=2, order_by="date")["pagination"]["next_cursor"]

    response = sandbox_http.get("/invoices", params={"limit": 2, "next_cursor": cursor})

    assert response.status_code == 422
    assert response.json()["cause"]["issues"] == [
        {"path": ["next_cursor"], "message": "was made for order_by=date; send the same order_by"}
    ]


def test_limit_defaults_to_ten_and_allows_a_hundred(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    for n in range(12):
        body = {"items": [{"name": "Mug", "quantity": 1, "price": n + 1}]}
        assert sandbox_http.post("/invoices", json=body).status_code == 201

    default = listed(sandbox_http)
    everything = listed(sandbox_http, limit=100)

    assert (len(default["data"]), default["pagination"]["has_more"]) == (10, True)
    assert (len(everything["data"]), everything["pagination"]["has_more"]) == (12, False)


def test_entities_list_filters_and_pages(
    sandbox_http: httpx.Client, make_entity: Callable[..., dict[str, Any]]
) -> None:
    sellers = [make_entity(name=f"Seller {n}", metadata={"seller_id": f"s{n}"}) for n in range(3)]

    first = listed(sandbox_http, "/entities", limit=2)
    second = listed(
        sandbox_http, "/entities", limit=2, next_cursor=first["pagination"]["next_cursor"]
    )
    found = listed(sandbox_http, "/entities", query={"metadata": {"seller_id": {"equals": "s1"}}})

    assert [e["id"] for e in first["data"] + second["data"]] == [s["id"] for s in sellers]
    assert [e["id"] for e in found["data"]] == [sellers[1]["id"]]


def test_documents_carry_updated_at_and_lists_filter_on_it(
    sandbox_app: Any, sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    minute = [0]
    sandbox_app.clock = lambda: dt.datetime(2026, 3, 1, 9, minute[0], tzinfo=dt.UTC)

    def at(on_minute: int) -> None:
        minute[0] = on_minute

    created = []
    for n in (1, 2, 3, 4):
        at(n - 1)  # 09:00 to 09:03
        created.append(
            sandbox_http.post("/invoices", json=invoice(f"o{n}", "2026-03-01", "10.00")).json()
        )
    at(4)
    paid = sandbox_http.post(
        "/payments", json={"amount": "1.00", "type": "card", "invoice_id": created[0]["id"]}
    )
    at(5)
    voided = sandbox_http.post(f"/invoices/{created[1]['id']}/void", json={"reason": "x"})
    assert (paid.status_code, voided.status_code) == (201, 200)

    page = listed(sandbox_http, query={"updated_at": {"gte": "2026-03-01T09:03:00.000Z"}})

    assert [(d["metadata"]["order_id"], d["updated_at"]) for d in page["data"]] == [
        ("o1", "2026-03-01T09:04:00.000Z"),
        ("o2", "2026-03-01T09:05:00.000Z"),
        ("o4", "2026-03-01T09:03:00.000Z"),
    ]
    assert [d["updated_at"] == d["created_at"] for d in created] == [True] * 4
