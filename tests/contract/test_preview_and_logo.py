"""``POST /invoices/render`` (a preview that keeps nothing and uses no number) and
``PUT /entities/{id}/logo``, through the client, against the sandbox both ways it runs."""

import base64
import io
import re
import zlib
from decimal import Decimal

import httpx
import pytest
from PIL import Image

from invoicing.client import (
    EntityCreate,
    InvoiceCreate,
    Rejected,
    SpaceInvoicesClient,
)
from tests.contract.conftest import ACCOUNT_KEY


def pdf_title(pdf: bytes) -> str:
    """The PDF's /Title (fpdf2 writes Latin-1 text as a literal, any other as UTF-16BE hex)."""
    if literal := re.search(rb"/Title \(([^)]*)\)", pdf):
        return literal.group(1).decode("latin-1")
    match = re.search(rb"/Title <feff([0-9a-f]+)>", pdf)
    assert match is not None
    return bytes.fromhex(match.group(1).decode()).decode("utf-16-be")


def pdf_header_text_colour(pdf: bytes) -> str:
    """The fill of the header bar and the colour of the seller's name written on it (fpdf2
    writes black as the grey level ``0 g``, white as ``1 1 1 rg``)."""
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            content = zlib.decompress(stream.group(1)).decode("latin-1")
        except zlib.error:
            continue
        match = re.search(
            r"([\d. ]+) rg\n0\.00 841\.89 595\.28 -79\.37 re f\n(?:q [^\n]* Do Q\n)?"
            r"BT /F\d 18\.00 Tf ET\nq BT [\d. ]+ Td (0 g|1 1 1 rg)",
            content,
        )
        if match:
            return f"{match.group(1)} / {match.group(2)}"
    raise AssertionError("no header bar in the PDF")


def png(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def entity(si: SpaceInvoicesClient, colour: str, *, start: int | None = None) -> str:
    settings: dict[str, object] = {
        "primary_color": colour,
        "number_formats": {"invoice": "{yyyy}-{nnnnn}"},
        "default_invoice_note": "Thank you.",
        "default_invoice_payment_terms": "Pay within 8 days.",
        "bank_accounts": [{"type": "iban", "iban": "SI56263300012039086"}],
    }
    if start is not None:
        settings["number_sequence_starts"] = {"invoice": start}
    created = si.entity_create(
        payload=EntityCreate.model_validate(
            {"name": "Žito d.o.o.", "country_code": "SI", "settings": settings}
        ),
        request_id=f"entity-{colour}-{start}",
    )
    return created["id"]


INVOICE = InvoiceCreate.model_validate(
    {
        "date": "2026-03-15",
        "customer": {"name": "Ana Novak", "country_code": "SI"},
        "items": [
            {"name": "Mug", "quantity": 2, "price": Decimal("25.00"), "taxes": [{"rate": 22}]}
        ],
    }
)


def test_a_preview_shows_the_next_number_and_uses_none(space_invoices: SpaceInvoicesClient):
    entity_id = entity(space_invoices, "#1A73E8", start=42)

    first = space_invoices.invoice_render(entity_id=entity_id, payload=INVOICE)
    again = space_invoices.invoice_render(entity_id=entity_id, payload=INVOICE)
    issued = space_invoices.invoice_create(
        entity_id=entity_id, payload=INVOICE, request_id="issue-after-preview"
    )
    after = space_invoices.invoice_render(entity_id=entity_id, payload=INVOICE)

    assert first.startswith(b"%PDF-")
    assert pdf_title(first) == "Preview: Invoice 2026-00042 - Žito d.o.o."
    assert pdf_title(again) == pdf_title(first)
    assert issued["number"] == "2026-00042"
    assert issued["note"] == "Thank you."
    assert issued["payment_terms"] == "Pay within 8 days."
    assert pdf_title(after) == "Preview: Invoice 2026-00043 - Žito d.o.o."
    listed = space_invoices.invoice_list(entity_id=entity_id)
    assert [document["number"] for document in listed.data] == ["2026-00042"]


def test_a_preview_of_a_bad_body_is_refused_naming_the_field(
    space_invoices: SpaceInvoicesClient,
):
    entity_id = entity(space_invoices, "#1A73E8")
    body = InvoiceCreate.model_validate({"items": [{"name": "Mug", "quantity": 1}]})

    with pytest.raises(Rejected) as refused:
        space_invoices.invoice_render(entity_id=entity_id, payload=body)

    assert refused.value.status == 422
    assert [issue.path for issue in refused.value.issues] == [("items", 0, "price")]


@pytest.mark.parametrize(
    ("colour", "header"),
    [
        # A light colour gets black text, a dark one white (WCAG contrast >= 4.5:1 either way).
        ("#FFD700", "1 0.8431 0 / 0 g"),
        ("#0B3D91", "0.0431 0.2392 0.5686 / 1 1 1 rg"),
    ],
)
def test_the_pdf_header_text_reads_on_the_entity_colour(
    space_invoices: SpaceInvoicesClient, colour: str, header: str
):
    entity_id = entity(space_invoices, colour)

    pdf = space_invoices.invoice_render(entity_id=entity_id, payload=INVOICE)

    assert pdf_header_text_colour(pdf) == header


def test_the_logo_is_kept_and_printed_on_the_entity_documents(
    space_invoices: SpaceInvoicesClient,
):
    entity_id = entity(space_invoices, "#1A73E8")
    without = space_invoices.invoice_render(entity_id=entity_id, payload=INVOICE)

    answer = space_invoices.entity_logo_upload(
        entity_id=entity_id, content=png(), content_type="image/png", request_id="logo-1"
    )
    issued = space_invoices.invoice_create(entity_id=entity_id, payload=INVOICE, request_id="i-1")
    with_logo = space_invoices.document_pdf(entity_id=entity_id, document_id=issued["id"])

    assert answer["settings"]["has_logo"] is True
    assert space_invoices.entity_get(entity_id=entity_id)["settings"]["has_logo"] is True
    assert b"/Subtype /Image" not in without
    assert b"/Subtype /Image" in with_logo


def test_a_logo_that_is_not_the_image_it_claims_is_refused(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
):
    entity_id = entity(space_invoices, "#1A73E8")

    with pytest.raises(Rejected) as refused:
        space_invoices.entity_logo_upload(
            entity_id=entity_id, content=b"GIF89a....", content_type="image/png", request_id="l-1"
        )
    raw = sandbox_http.put(
        f"/entities/{entity_id}/logo",
        json={"content_type": "image/gif", "data": base64.b64encode(png()).decode()},
        headers={"Authorization": f"Bearer {ACCOUNT_KEY}", "X-Request-Id": "l-2"},
    )

    assert [issue.path for issue in refused.value.issues] == [("data",)]
    assert raw.status_code == 422
    assert raw.json()["cause"]["issues"][0]["path"] == ["content_type"]
    assert space_invoices.entity_get(entity_id=entity_id)["settings"]["has_logo"] is False
