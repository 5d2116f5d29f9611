"""The client's e-invoice downloads against the sandbox (in-process and as a server): every format
of an invoice and of its credit note comes back as the XML the published validators accept; a
draft is a 409 (a conflict that clears once it is finalized, so ``Transient``); another entity's
document is ``NotFound``."""

from decimal import Decimal

import pytest
from lxml import etree

from invoicing.client import (
    DocumentCreate,
    EntityCreate,
    InvoiceCreate,
    NotFound,
    SpaceInvoicesClient,
    Transient,
)
from invoicing.client.wire import E_INVOICE_FORMATS, EInvoiceFormat
from tests.einvoice_validators import validate

BUYER = {
    "name": "Käufer GmbH",
    "address": "Hauptstraße 5",
    "post_code": "10115",
    "city": "Berlin",
    "country_code": "DE",
    "tax_number": "DE136695976",
    "peppol_id": "991-01234-38",
    "peppol_scheme_id": "0204",
    "e_invoicing": {"buyer_reference": "991-01234-38"},
}


def _entity(si: SpaceInvoicesClient, name: str) -> str:
    entity = si.entity_create(
        payload=EntityCreate.model_validate(
            {
                "name": name,
                "country_code": "SI",
                "address": "Slovenska cesta 1",
                "post_code": "1000",
                "city": "Ljubljana",
                "tax_number": "SI12345679",
                "is_tax_subject": True,
            }
        ),
        request_id=f"entity-{name}",
    )
    return entity["id"]


def _body(**extra: object) -> dict[str, object]:
    return {
        "date": "2026-03-15",
        "customer": BUYER,
        "items": [
            {
                "name": "Mug",
                "quantity": 2,
                "price": Decimal("10.00"),
                "taxes": [{"rate": 0, "reverse_charge": True}],
            }
        ],
        **extra,
    }


@pytest.mark.parametrize("e_format", E_INVOICE_FORMATS)
def test_document_e_invoice_downloads_valid_xml(
    space_invoices: SpaceInvoicesClient, e_format: EInvoiceFormat
) -> None:
    entity_id = _entity(space_invoices, "Trgovina d.o.o.")
    invoice = space_invoices.invoice_create(
        entity_id=entity_id, payload=InvoiceCreate.model_validate(_body()), request_id="inv-1"
    )
    credit = space_invoices.credit_note_create(
        entity_id=entity_id,
        payload=DocumentCreate.model_validate(_body(linked_documents=[invoice["id"]])),
        request_id="cre-1",
    )

    for document, root in ((invoice, "Invoice"), (credit, "CreditNote")):
        xml = space_invoices.document_e_invoice(
            entity_id=entity_id, document_id=document["id"], e_format=e_format
        )
        report = validate(xml)
        assert report.counts() == {"xsd": 0, "en16931": 0, "peppol": 0}, report.errors
        tree = etree.fromstring(xml)
        expected_root = root if e_format == "ubl" else "CrossIndustryInvoice"
        assert etree.QName(tree).localname == expected_root
        number = tree.xpath(
            "string(/*/*[local-name()='ID'] | /*/*[local-name()='ExchangedDocument']/*"
            "[local-name()='ID'])"
        )
        assert number == document["number"]


def test_document_e_invoice_refusals(space_invoices: SpaceInvoicesClient) -> None:
    entity_id = _entity(space_invoices, "Trgovina d.o.o.")
    other_id = _entity(space_invoices, "Druga d.o.o.")
    draft = space_invoices.invoice_create(
        entity_id=entity_id,
        payload=InvoiceCreate.model_validate(_body(is_draft=True)),
        request_id="draft-1",
    )

    with pytest.raises(Transient) as refused:
        space_invoices.document_e_invoice(
            entity_id=entity_id, document_id=draft["id"], e_format="ubl"
        )
    with pytest.raises(NotFound):
        space_invoices.document_e_invoice(
            entity_id=other_id, document_id=draft["id"], e_format="xrechnung"
        )
    with pytest.raises(ValueError, match="unknown e-invoice format 'edifact'"):
        space_invoices.document_e_invoice(
            entity_id=entity_id,
            document_id=draft["id"],
            e_format="edifact",  # type: ignore[arg-type]
        )

    assert (refused.value.status, refused.value.code) == (409, "document_draft")
