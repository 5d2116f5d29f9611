import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from invoicing.client import (
    Document as RemoteDocument,
)
from invoicing.client import (
    DocumentCreate,
    DocumentPayment,
    DocumentSend,
    Entity,
    EntityCreate,
    Forbidden,
    InvoiceCreate,
    Issue,
    NotFound,
    PaymentCreate,
    RateLimited,
    Rejected,
    SpaceInvoicesClient,
    TransactionTypeRequest,
    Transient,
    Unauthorized,
)
from tests.contract.conftest import ACCOUNT_KEY


def create_entity(si: SpaceInvoicesClient, name: str = "Trgovina Novak d.o.o.") -> Entity:
    return si.entity_create(
        payload=EntityCreate.model_validate(
            {
                "name": name,
                "country_code": "SI",
                "address": "Slovenska cesta 1",
                "post_code": "1000",
                "city": "Ljubljana",
                "is_tax_subject": True,
                "metadata": {"seller_id": name},
            }
        ),
        request_id=f"entity-{name}",
    )


def order_invoice(order_id: str) -> dict[str, Any]:
    return {
        "date": "2026-03-15",
        "items": [{"name": "Mug", "quantity": 1, "price": Decimal("10.00")}],
        "metadata": {"order_id": order_id},
    }


def issue(si: SpaceInvoicesClient, entity_id: str, order_id: str) -> RemoteDocument:
    return si.invoice_create(
        entity_id=entity_id,
        payload=InvoiceCreate.model_validate(order_invoice(order_id)),
        request_id=f"order-{order_id}",
    )


def test_entity_create_derives_country_data_and_reads_back(
    space_invoices: SpaceInvoicesClient,
) -> None:
    entity = create_entity(space_invoices)

    assert re.fullmatch(r"ent_[0-9a-f]{24}", entity["id"])
    assert (entity["name"], entity["country_code"], entity["currency_code"]) == (
        "Trgovina Novak d.o.o.",
        "SI",
        "EUR",
    )
    assert entity["environment"] == "sandbox"
    assert entity["metadata"] == {"seller_id": "Trgovina Novak d.o.o."}
    assert entity["settings"]["number_formats"]["invoice"] == "{yyyy}-{nnnnn}"
    assert space_invoices.entity_get(entity_id=entity["id"]) == entity


def test_invoices_are_numbered_in_sequence_with_exact_totals(
    space_invoices: SpaceInvoicesClient,
) -> None:
    entity_id = create_entity(space_invoices)["id"]

    first = space_invoices.invoice_create(
        entity_id=entity_id,
        payload=InvoiceCreate.model_validate(
            {
                "date": "2026-03-15",
                "customer": {"name": "Ana Novak", "country_code": "SI"},
                "items": [
                    {
                        "name": "Mug",
                        "quantity": 2,
                        "price": Decimal("19.99"),
                        "taxes": [{"rate": Decimal("22")}],
                    },
                    {
                        "name": "Sticker",
                        "quantity": 3,
                        "price": Decimal("0.10"),
                        "taxes": [{"rate": Decimal("9.5")}],
                    },
                ],
                "expected_total_with_tax": Decimal("49.11"),
                "metadata": {"order_id": "o1"},
            }
        ),
        request_id="order-o1",
    )
    second = space_invoices.invoice_create(
        entity_id=entity_id,
        payload=InvoiceCreate.model_validate(
            {
                "date": "2026-03-16",
                "items": [
                    {
                        "name": "Lamp",
                        "quantity": 1,
                        "price": Decimal("100.00"),
                        "discounts": [{"value": Decimal("10"), "type": "percent"}],
                        "taxes": [{"rate": Decimal("22")}],
                    }
                ],
                "payments": [{"amount": Decimal("50.00"), "type": "bank_transfer"}],
            }
        ),
        request_id="order-o2",
    )

    assert re.fullmatch(r"inv_[0-9a-f]{24}", first["id"])
    assert (first["entity_id"], first["number"], second["number"]) == (
        entity_id,
        "2026-00001",
        "2026-00002",
    )
    assert (first["date"], first["date_due"], first["currency_code"]) == (
        "2026-03-15",
        "2026-04-14",
        "EUR",
    )
    assert first["transaction_type"] == "domestic"
    assert first["taxes"] == [
        {
            "rate": Decimal("22"),
            "base": Decimal("39.98"),
            "amount": Decimal("8.80"),
            "reverse_charge": False,
        },
        {
            "rate": Decimal("9.5"),
            "base": Decimal("0.30"),
            "amount": Decimal("0.03"),
            "reverse_charge": False,
        },
    ]
    assert (first["total"], first["total_with_tax"], first["total_discount"]) == (
        Decimal("40.28"),
        Decimal("49.11"),
        Decimal("0"),
    )
    assert (first["total_paid"], first["total_due"], first["paid_in_full"]) == (
        Decimal("0"),
        Decimal("49.11"),
        False,
    )
    assert (second["total"], second["total_with_tax"], second["total_discount"]) == (
        Decimal("90.00"),
        Decimal("109.80"),
        Decimal("10.00"),
    )
    assert (second["total_paid"], second["total_due"], second["paid_in_full"]) == (
        Decimal("50.00"),
        Decimal("59.80"),
        False,
    )
    amounts = [first["total"], first["taxes"][1]["rate"], second["items"][0]["quantity"]]
    assert all(type(amount) is Decimal for amount in amounts)


def test_invoice_get_returns_the_created_document(space_invoices: SpaceInvoicesClient) -> None:
    entity_id = create_entity(space_invoices)["id"]
    created = issue(space_invoices, entity_id, "o1")

    assert space_invoices.invoice_get(entity_id=entity_id, invoice_id=created["id"]) == created


@pytest.mark.parametrize(
    "query",
    [
        {"metadata.order_id": {"equals": "o2"}},
        {"metadata": {"order_id": {"equals": "o2"}}},
    ],
    ids=["dotted", "nested"],
)
def test_invoice_list_filters_by_metadata(
    space_invoices: SpaceInvoicesClient, query: dict[str, object]
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    ids = {order: issue(space_invoices, entity_id, order)["id"] for order in ("o1", "o2", "o3")}

    page = space_invoices.invoice_list(entity_id=entity_id, query=query)

    assert [d["id"] for d in page.data] == [ids["o2"]]
    assert (page.has_more, page.next_cursor, page.prev_cursor) == (False, None, None)


def test_invoice_list_pages_and_iter_follows_every_cursor(
    space_invoices: SpaceInvoicesClient,
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    ids = [issue(space_invoices, entity_id, f"o{n}")["id"] for n in range(1, 6)]

    first = space_invoices.invoice_list(entity_id=entity_id, limit=2)
    second = space_invoices.invoice_list(
        entity_id=entity_id, limit=2, next_cursor=first.next_cursor
    )
    iterated = space_invoices.invoice_iter(entity_id=entity_id, page_size=2)

    assert ([d["id"] for d in first.data], first.has_more) == (ids[:2], True)
    assert ([d["id"] for d in second.data], second.has_more) == (ids[2:4], True)
    assert [d["id"] for d in iterated] == ids
    assert [d["number"] for d in space_invoices.invoice_iter(entity_id=entity_id)] == [
        f"2026-0000{n}" for n in range(1, 6)
    ]


def test_iter_updated_since_lists_documents_created_or_changed_since(
    space_invoices: SpaceInvoicesClient,
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    first, _ = issue(space_invoices, entity_id, "o1"), issue(space_invoices, entity_id, "o2")
    time.sleep(0.002)  # timestamps have milliseconds: o3 and what follows come later
    third = issue(space_invoices, entity_id, "o3")
    time.sleep(0.002)
    space_invoices.payment_create(
        entity_id=entity_id,
        payload=PaymentCreate.model_validate(
            {"amount": Decimal("4.00"), "type": "card", "invoice_id": first["id"]}
        ),
        request_id="pay-o1",
    )
    credit = space_invoices.credit_note_create(
        entity_id=entity_id,
        payload=DocumentCreate.model_validate(
            {**order_invoice("o3"), "linked_documents": [third["id"]]}
        ),
        request_id="credit-o3",
    )

    changed = list(
        space_invoices.invoice_iter(entity_id=entity_id, updated_since=third["updated_at"])
    )
    credited = space_invoices.credit_note_iter(
        entity_id=entity_id, updated_since=credit["updated_at"]
    )

    assert third["updated_at"] == third["created_at"]
    assert [(d["id"], d["total_paid"]) for d in changed] == [
        (first["id"], Decimal("4.00")),  # paid after o3 was created
        (third["id"], Decimal("0")),
    ]
    assert changed[0]["updated_at"] > third["updated_at"] > first["created_at"]
    assert [d["id"] for d in credited] == [credit["id"]]


def test_same_request_id_replays_the_first_document(space_invoices: SpaceInvoicesClient) -> None:
    entity_id = create_entity(space_invoices)["id"]

    first = issue(space_invoices, entity_id, "o1")
    replay = issue(space_invoices, entity_id, "o1")

    assert replay == first
    assert create_entity(space_invoices)["id"] == entity_id
    assert [d["id"] for d in space_invoices.invoice_iter(entity_id=entity_id)] == [first["id"]]


def test_invoice_of_another_entity_is_not_found(space_invoices: SpaceInvoicesClient) -> None:
    seller_a = create_entity(space_invoices, "Seller A")["id"]
    seller_b = create_entity(space_invoices, "Seller B")["id"]
    invoice = issue(space_invoices, seller_a, "o1")

    with pytest.raises(NotFound) as caught:
        space_invoices.invoice_get(entity_id=seller_b, invoice_id=invoice["id"])

    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert space_invoices.invoice_list(entity_id=seller_b).data == []
    assert [d["id"] for d in space_invoices.invoice_iter(entity_id=seller_a)] == [invoice["id"]]


def test_invalid_invoice_is_rejected_with_issue_paths_and_creates_nothing(
    space_invoices: SpaceInvoicesClient,
) -> None:
    entity_id = create_entity(space_invoices)["id"]

    with pytest.raises(Rejected) as caught:
        space_invoices.invoice_create(
            entity_id=entity_id,
            payload=InvoiceCreate.model_validate(
                {
                    "items": [
                        {"name": "Mug", "quantity": 1, "price": Decimal("1.00")},
                        {"name": "Pin", "quantity": 0, "price": Decimal("1.00")},
                    ]
                }
            ),
            request_id="order-bad",
        )

    error = caught.value
    assert type(error) is Rejected
    assert (error.status, error.code, error.request_id) == (422, "validation_error", "order-bad")
    assert error.issues == (Issue(path=("items", 1, "quantity"), message="must be greater than 0"),)
    assert str(error) == "422 validation_error: items.1.quantity: must be greater than 0"
    assert space_invoices.invoice_list(entity_id=entity_id).data == []


def test_unknown_entity_is_not_found(space_invoices: SpaceInvoicesClient) -> None:
    with pytest.raises(NotFound):
        space_invoices.entity_get(entity_id="ent_000000000000000000000000")


def test_bad_key_is_unauthorized(
    space_invoices: SpaceInvoicesClient,
    make_space_invoices: Callable[[str], SpaceInvoicesClient],
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    intruder = make_space_invoices("sk_sandbox_not_a_key_of_this_sandbox")

    with pytest.raises(Unauthorized) as caught:
        intruder.invoice_list(entity_id=entity_id)

    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    with pytest.raises(Unauthorized):
        issue(intruder, entity_id, "o1")


def test_credit_note_void_payment_send_and_pdf(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    invoice = issue(space_invoices, entity_id, "o1")

    payment = space_invoices.payment_create(
        entity_id=entity_id,
        payload=PaymentCreate.model_validate(
            {"amount": Decimal("4.00"), "type": "card", "invoice_id": invoice["id"]}
        ),
        request_id="pay-o1",
    )
    sent = space_invoices.document_send(
        entity_id=entity_id,
        document_id=invoice["id"],
        payload=DocumentSend.model_validate({"to": "ana@example.com"}),
        request_id="send-o1",
    )
    credit = space_invoices.credit_note_create(
        entity_id=entity_id,
        payload=DocumentCreate.model_validate(
            {**order_invoice("o1"), "linked_documents": [invoice["id"]]}
        ),
        request_id="credit-o1",
    )
    voided = space_invoices.invoice_void(
        entity_id=entity_id, invoice_id=invoice["id"], reason="cancelled", request_id="void-o1"
    )
    pdf = space_invoices.document_pdf(entity_id=entity_id, document_id=credit["id"])
    outbox = sandbox_http.get(
        "/sandbox/outbox", headers={"Authorization": f"Bearer {ACCOUNT_KEY}"}
    ).json()

    assert re.fullmatch(r"pmt_[0-9a-f]{24}", payment["id"])
    assert payment["amount"] == Decimal("4.00")
    paid = space_invoices.invoice_get(entity_id=entity_id, invoice_id=invoice["id"])
    assert (paid["total_paid"], paid["total_due"]) == (Decimal("4.00"), Decimal("6.00"))
    assert sent["status"] == "sent"
    assert [m["document_id"] for m in outbox["data"]] == [invoice["id"]]
    assert (credit["number"], credit["linked_documents"]) == ("CN-2026-00001", [invoice["id"]])
    assert (
        space_invoices.credit_note_get(entity_id=entity_id, credit_note_id=credit["id"]) == credit
    )
    assert voided["voided_at"] is not None
    assert pdf.startswith(b"%PDF-")


def test_payment_list_finds_a_payment_by_its_metadata(space_invoices: SpaceInvoicesClient) -> None:
    entity_id = create_entity(space_invoices)["id"]
    invoice = issue(space_invoices, entity_id, "o1")
    ids = [
        space_invoices.payment_create(
            entity_id=entity_id,
            payload=PaymentCreate.model_validate(
                {
                    "amount": Decimal("4.00"),
                    "type": "card",
                    "invoice_id": invoice["id"],
                    "metadata": {"payment_ref": ref},
                }
            ),
            request_id=f"pay-{ref}",
        )["id"]
        for ref in ("p1", "p2")
    ]

    found = space_invoices.payment_list(
        entity_id=entity_id, query={"metadata.payment_ref": {"equals": "p2"}}
    )
    missing = space_invoices.payment_list(
        entity_id=entity_id, query={"metadata.payment_ref": {"equals": "p3"}}
    )
    everything = space_invoices.payment_list(entity_id=entity_id)

    assert [(p["id"], p["amount"], p["metadata"]) for p in found.data] == [
        (ids[1], Decimal("4.00"), {"payment_ref": "p2"})
    ]
    assert (missing.data, missing.has_more) == ([], False)
    assert [p["id"] for p in everything.data] == ids


def test_a_zero_total_invoice_is_issued_paid_and_a_zero_payment_is_refused(
    space_invoices: SpaceInvoicesClient,
) -> None:
    """Nothing is due on a 0.00 document; a payment's amount must be greater than 0, inline
    (the document is then not created) as on its own."""
    entity_id = create_entity(space_invoices)["id"]
    free: dict[str, Any] = {
        "date": "2026-03-15",
        "items": [{"name": "Sample", "quantity": 2, "price": Decimal("0.00")}],
        "expected_total_with_tax": Decimal("0.00"),
        "metadata": {"order_id": "o1"},
    }

    invoice = space_invoices.invoice_create(
        entity_id=entity_id, payload=InvoiceCreate.model_validate(free), request_id="free"
    )
    with pytest.raises(Rejected) as inline:
        space_invoices.invoice_create(
            entity_id=entity_id,
            # Built without validation: the model refuses an amount of 0 as the API does.
            payload=InvoiceCreate.model_validate(free).model_copy(
                update={
                    "payments": [
                        DocumentPayment.model_construct(amount=Decimal("0.00"), type="card")
                    ]
                }
            ),
            request_id="free-paid-inline",
        )
    with pytest.raises(Rejected) as separate:
        space_invoices.payment_create(
            entity_id=entity_id,
            payload=PaymentCreate.model_construct(
                amount=Decimal("0.00"), type="card", invoice_id=invoice["id"]
            ),
            request_id="free-payment",
        )

    assert (invoice["number"], invoice["total"], invoice["total_with_tax"]) == (
        "2026-00001",
        Decimal("0"),
        Decimal("0"),
    )
    assert (invoice["total_paid"], invoice["total_due"], invoice["paid_in_full"]) == (
        Decimal("0"),
        Decimal("0"),
        True,
    )
    assert (inline.value.status, inline.value.issues) == (
        422,
        (Issue(path=("payments", 0, "amount"), message="must be greater than 0"),),
    )
    assert (separate.value.status, separate.value.issues) == (
        422,
        (Issue(path=("amount",), message="must be greater than 0"),),
    )
    assert [d["id"] for d in space_invoices.invoice_list(entity_id=entity_id).data] == [
        invoice["id"]
    ]
    assert space_invoices.payment_list(entity_id=entity_id).data == []


def test_transaction_type_check(space_invoices: SpaceInvoicesClient) -> None:
    check = space_invoices.transaction_type_check(
        payload=TransactionTypeRequest.model_validate(
            {
                "issuer": {"country_code": "SI", "is_tax_subject": True},
                "customer": {"country_code": "DE", "tax_number": "DE136695976"},
            }
        )
    )

    assert (check["transaction_type"], check["reverse_charge_applies"], check["vies_valid"]) == (
        "intra_eu_b2b",
        True,
        True,
    )


def test_entity_key_and_users(
    space_invoices: SpaceInvoicesClient,
    make_space_invoices: Callable[[str], SpaceInvoicesClient],
) -> None:
    entity_id = create_entity(space_invoices, "Seller A")["id"]
    other_id = create_entity(space_invoices, "Seller B")["id"]

    key = space_invoices.entity_api_key_create(
        entity_id=entity_id, name="dashboard", ttl_seconds=900, request_id="key-1"
    )
    as_seller = make_space_invoices(key["key"])
    user = space_invoices.entity_user_create(
        entity_id=entity_id, email="ana@shop.si", role="admin", request_id="user-1"
    )
    listed = as_seller.entity_user_list(entity_id=entity_id)
    as_seller.entity_user_delete(entity_id=entity_id, user_id=user["id"], request_id="del-1")

    assert re.fullmatch(r"ek_sandbox_[0-9a-f]{32}", key["key"])
    assert key["entity_id"] == entity_id
    assert [(u["email"], u["role"]) for u in listed] == [("ana@shop.si", "admin")]
    assert space_invoices.entity_user_list(entity_id=entity_id) == []
    assert issue(as_seller, entity_id, "o1")["entity_id"] == entity_id
    with pytest.raises(Forbidden):
        as_seller.invoice_list(entity_id=other_id)


def test_a_lost_response_is_transient_and_the_retry_replays(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    auth = {"Authorization": f"Bearer {ACCOUNT_KEY}"}
    sandbox_http.post("/sandbox/faults", json={"lost_response_rate": 1}, headers=auth)

    with pytest.raises(Transient):
        issue(space_invoices, entity_id, "o1")
    sandbox_http.post("/sandbox/faults", json={}, headers=auth)
    invoice = issue(space_invoices, entity_id, "o1")

    assert [d["id"] for d in space_invoices.invoice_iter(entity_id=entity_id)] == [invoice["id"]]


@pytest.mark.parametrize(
    ("faults", "error", "status"),
    [({"error_rate": 1}, Transient, 503), ({"rate_limit_rate": 1}, RateLimited, 429)],
)
def test_injected_errors_map_to_retryable_client_errors(
    space_invoices: SpaceInvoicesClient,
    sandbox_http: httpx.Client,
    faults: dict[str, int],
    error: type[Transient],
    status: int,
) -> None:
    entity_id = create_entity(space_invoices)["id"]
    sandbox_http.post(
        "/sandbox/faults", json=faults, headers={"Authorization": f"Bearer {ACCOUNT_KEY}"}
    )

    with pytest.raises(error) as caught:
        issue(space_invoices, entity_id, "o1")

    assert caught.value.status == status
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 1.0
