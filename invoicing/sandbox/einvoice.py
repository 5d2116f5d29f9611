"""The e-invoice of a document: ``GET /invoices/{id}/{format}`` and
``GET /credit-notes/{id}/{format}``, ``format`` one of ``wire.E_INVOICE_FORMATS``:
- ``ubl``: UBL 2.1 as Peppol BIS Billing 3.0 (an ``Invoice``, or a ``CreditNote``);
- ``xrechnung``: UN/CEFACT CII D16B with the XRechnung 3.0 customization id;
- ``zugferd``: UN/CEFACT CII D16B with the ZUGFeRD / Factur-X EN 16931 (COMFORT) profile id (the
  XML that a ZUGFeRD PDF embeds).

Each is the EN 16931 semantic model of the document, built only from its stored data: the
seller (the document's ``issuer`` snapshot), the buyer (``customer``, with its ``peppol_id`` /
``peppol_scheme_id`` as electronic address and ``e_invoicing.buyer_reference`` as buyer
reference), the lines, one VAT breakdown per category and rate, the totals and the payment state
(``total_paid`` is the paid amount, ``total_due`` the amount due). A credit note references the
numbers of the invoices it corrects.

VAT category of a line tax (UNCL 5305), with the exemption reason code (VATEX) where EN 16931
requires one:

- ``reverse_charge`` on a sale outside the EU (``3w_*``): ``G`` export, ``VATEX-EU-G``;
- ``reverse_charge`` otherwise: ``AE`` reverse charge, ``VATEX-EU-AE``;
- rate 0 without reverse charge: ``Z`` (zero rated) when the seller has a VAT number, else ``O``
  (not subject to VAT, ``VATEX-EU-O``: a seller that is not a tax subject);
- any other rate: ``S`` (standard).

A draft has no number and no e-invoice (409 ``document_draft``). Built with the standard
library's ElementTree only; the output is UTF-8 with an XML declaration.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicing.client.wire import E_INVOICE_FORMATS, EInvoiceFormat
from invoicing.sandbox.reference import minor_unit

FORMATS = E_INVOICE_FORMATS

PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
XRECHNUNG_GUIDELINE = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
ZUGFERD_GUIDELINE = "urn:cen.eu:en16931:2017"

_UBL = {
    "invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "credit_note": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
for _prefix, _uri in (("cac", CAC), ("cbc", CBC), ("rsm", RSM), ("ram", RAM), ("udt", UDT)):
    ET.register_namespace(_prefix, _uri)
ET.register_namespace("qdt", QDT)

TYPE_CODES = {"invoice": "380", "credit_note": "381"}
EXEMPTION_REASONS = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
# UN/ECE Recommendation 20 codes of the units a line may name; anything else is one piece.
UNIT_CODES = {
    "pcs": "H87", "piece": "H87", "pieces": "H87", "kos": "H87", "stk": "H87",
    "h": "HUR", "hour": "HUR", "hours": "HUR", "kg": "KGM", "g": "GRM", "l": "LTR",
    "m": "MTR", "day": "DAY", "days": "DAY", "month": "MON", "months": "MON",
}  # fmt: skip
DEFAULT_UNIT = "C62"
# UNCL 4461 payment means of the recorded payment types.
PAYMENT_MEANS = {
    "cash": "10", "check": "20", "bank_transfer": "30", "card": "48", "paypal": "68",
    "coupon": "ZZZ", "other": "ZZZ", "credit_note": "97", "advance": "ZZZ",
}  # fmt: skip
SEPA_CREDIT_TRANSFER = "58"
_VAT_PREFIX = re.compile(r"[A-Z]{2}")


class EInvoiceUnavailable(Exception):
    """The document has no e-invoice (a draft)."""


@dataclass(frozen=True)
class _Breakdown:
    category: str
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class _Line:
    number: int
    name: str
    description: str | None
    quantity: Decimal
    unit: str
    price: Decimal
    allowance: Decimal
    net: Decimal
    category: str
    rate: Decimal


@dataclass(frozen=True)
class _Model:
    """The EN 16931 terms of a document, in the document's currency."""

    document_type: str
    number: str
    issue_date: dt.date
    due_date: dt.date | None
    delivery_date: dt.date | None
    currency: str
    notes: tuple[str, ...]
    buyer_reference: str | None
    preceding: tuple[str, ...]
    seller: Mapping[str, Any]
    buyer: Mapping[str, Any]
    lines: tuple[_Line, ...]
    breakdown: tuple[_Breakdown, ...]
    line_total: Decimal
    tax_total: Decimal
    rounding: Decimal
    paid: Decimal
    due: Decimal
    payment_means: str | None
    iban: str | None
    places: int


def e_invoice(
    document: Mapping[str, Any],
    document_type: str,
    entity: Mapping[str, Any],
    e_format: EInvoiceFormat,
    *,
    preceding_numbers: Sequence[str] = (),
) -> bytes:
    """The e-invoice of ``document`` in ``e_format`` (UTF-8 XML).

    ``preceding_numbers``: the numbers of the invoices a credit note corrects.
    Raises :class:`EInvoiceUnavailable` for a draft.
    """
    model = _model(document, document_type, entity, preceding_numbers)
    root = _ubl(model) if e_format == "ubl" else _cii(model, e_format)
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


def file_name(document: Mapping[str, Any], document_type: str, e_format: EInvoiceFormat) -> str:
    kind = document_type.replace("_", "-")
    return f"{kind}-{document['number'] or document['id']}-{e_format}.xml"


# The model


def tax_category(
    rate: Decimal, reverse_charge: bool, transaction_type: str | None, seller_has_vat: bool
) -> str:
    """The UNCL 5305 VAT category of a line tax (see the module docstring)."""
    if reverse_charge:
        return "G" if (transaction_type or "").startswith("3w") else "AE"
    if rate == 0:
        return "Z" if seller_has_vat else "O"
    return "S"


def _model(
    document: Mapping[str, Any],
    document_type: str,
    entity: Mapping[str, Any],
    preceding: Sequence[str],
) -> _Model:
    if document.get("is_draft") or not document.get("number"):
        raise EInvoiceUnavailable(f"{document['id']} is a draft: finalize it first")
    currency = document["currency_code"]
    places = -minor_unit(currency).adjusted()
    seller = dict(document.get("issuer") or {})
    seller_vat = vat_identifier(seller.get("tax_number"), seller.get("country_code"))
    seller["vat_id"] = seller_vat
    seller.setdefault("company_number", entity.get("company_number"))
    buyer = dict(document.get("customer") or {})
    buyer["vat_id"] = vat_identifier(buyer.get("tax_number"), buyer.get("country_code"))
    transaction_type = document.get("transaction_type")

    lines: list[_Line] = []
    groups: dict[tuple[str, Decimal], list[Decimal]] = {}
    amounts: dict[tuple[Decimal, bool], Decimal] = {
        (_dec(t["rate"]), bool(t["reverse_charge"])): _dec(t["amount"]) for t in document["taxes"]
    }
    categories: dict[tuple[str, Decimal], Decimal] = {}
    for item in document["items"]:
        if item.get("type") == "separator" or item.get("quantity") is None:
            continue
        taxes = item.get("taxes") or [{"rate": 0, "reverse_charge": False}]
        tax = taxes[0]
        rate = _dec(tax["rate"])
        reverse = bool(tax.get("reverse_charge"))
        category = tax_category(rate, reverse, transaction_type, seller_vat is not None)
        net = _dec(item["total"])
        lines.append(
            _Line(
                number=len(lines) + 1,
                name=item.get("name") or "-",
                description=item.get("description"),
                quantity=_dec(item["quantity"]),
                unit=UNIT_CODES.get((item.get("unit") or "").strip().lower(), DEFAULT_UNIT),
                price=_dec(item["price"]),
                allowance=_dec(item.get("total_discount") or 0),
                net=net,
                category=category,
                rate=Decimal(0) if category in ("AE", "G", "O") else rate,
            )
        )
        key = (category, rate)
        groups.setdefault(key, []).append(net)
        categories[key] = amounts.get((rate, reverse), Decimal(0))
    breakdown = tuple(
        _Breakdown(
            category,
            Decimal(0) if category in ("AE", "G", "O") else rate,
            sum(nets, Decimal(0)),
            categories[(category, rate)],
        )
        for (category, rate), nets in groups.items()
    )
    line_total = sum((line.net for line in lines), Decimal(0))
    tax_total = sum((group.amount for group in breakdown), Decimal(0))
    grand_total = _dec(document["total_with_tax"])
    payments = document.get("payments") or []
    means = PAYMENT_MEANS.get(payments[0]["type"]) if payments else None
    iban = _iban(entity)
    if iban and (not payments or _dec(document["total_due"]) > 0):
        means = SEPA_CREDIT_TRANSFER
    elif means == "30" or means == SEPA_CREDIT_TRANSFER:
        means = "ZZZ"  # a credit transfer names the payee's account; the entity has none
    notes = tuple(
        text for text in (document.get("note"), document.get("tax_clause")) if text and text.strip()
    )
    buyer_reference = (buyer.get("e_invoicing") or {}).get("buyer_reference") or document.get(
        "reference"
    )
    return _Model(
        document_type=document_type,
        number=str(document["number"]),
        issue_date=dt.date.fromisoformat(document["date"]),
        due_date=dt.date.fromisoformat(document["date_due"]) if document.get("date_due") else None,
        delivery_date=(
            dt.date.fromisoformat(document["date_service"])
            if document.get("date_service")
            else None
        ),
        currency=currency,
        notes=notes,
        buyer_reference=buyer_reference,
        preceding=tuple(preceding),
        seller=seller,
        buyer=buyer,
        lines=tuple(lines),
        breakdown=breakdown,
        line_total=line_total,
        tax_total=tax_total,
        rounding=grand_total - line_total - tax_total,
        paid=_dec(document.get("total_paid") or 0),
        due=_dec(document["total_due"]),
        payment_means=means,
        iban=iban,
        places=places,
    )


def vat_identifier(tax_number: str | None, country_code: str | None) -> str | None:
    """A VAT identifier with its country prefix (EN 16931 BR-CO-9; Greece is ``EL``)."""
    number = re.sub(r"[\s.\-]", "", tax_number or "").upper()
    if not number:
        return None
    if _VAT_PREFIX.match(number):
        return number
    prefix = {"GR": "EL"}.get(country_code or "", country_code or "")
    return f"{prefix}{number}" if prefix else None


def _iban(entity: Mapping[str, Any]) -> str | None:
    settings = entity.get("settings") or {}
    for account in settings.get("bank_accounts") or []:
        if isinstance(account, Mapping) and account.get("iban"):
            return str(account["iban"]).replace(" ", "").upper()
    return None


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _amount(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# UBL 2.1 (Peppol BIS Billing 3.0)


def _el(parent: ET.Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _cbc(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    return _el(parent, CBC, tag, text, **attrs)


def _cac(parent: ET.Element, tag: str) -> ET.Element:
    return _el(parent, CAC, tag)


def _ubl(model: _Model) -> ET.Element:
    invoice = model.document_type == "invoice"
    root_tag = "Invoice" if invoice else "CreditNote"
    root = ET.Element(f"{{{_UBL[model.document_type]}}}{root_tag}")
    money = {"currencyID": model.currency}
    _cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION)
    _cbc(root, "ProfileID", PEPPOL_PROFILE)
    _cbc(root, "ID", model.number)
    _cbc(root, "IssueDate", model.issue_date.isoformat())
    if invoice and model.due_date:
        _cbc(root, "DueDate", model.due_date.isoformat())
    _cbc(
        root,
        "InvoiceTypeCode" if invoice else "CreditNoteTypeCode",
        TYPE_CODES[model.document_type],
    )
    for note in model.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", model.currency)
    if model.buyer_reference:
        _cbc(root, "BuyerReference", model.buyer_reference)
    for number in model.preceding:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", number)
    _ubl_party(_cac(root, "AccountingSupplierParty"), model.seller)
    _ubl_party(_cac(root, "AccountingCustomerParty"), model.buyer)
    if model.delivery_date:
        _cbc(_cac(root, "Delivery"), "ActualDeliveryDate", model.delivery_date.isoformat())
    if model.payment_means:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", model.payment_means)
        _cbc(means, "PaymentID", model.number)
        if model.payment_means == SEPA_CREDIT_TRANSFER and model.iban:
            _cbc(_cac(means, "PayeeFinancialAccount"), "ID", model.iban)
    if not invoice and model.due_date and model.due > 0:
        _cbc(_cac(root, "PaymentTerms"), "Note", f"Due {model.due_date.isoformat()}")
    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", _amount(model.tax_total, model.places), **money)
    for group in model.breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", _amount(group.base, model.places), **money)
        _cbc(subtotal, "TaxAmount", _amount(group.amount, model.places), **money)
        _ubl_category(_cac(subtotal, "TaxCategory"), group.category, group.rate, exemption=True)
    totals = _cac(root, "LegalMonetaryTotal")
    for tag, value in (
        ("LineExtensionAmount", model.line_total),
        ("TaxExclusiveAmount", model.line_total),
        ("TaxInclusiveAmount", model.line_total + model.tax_total),
        ("PrepaidAmount", model.paid),
        ("PayableRoundingAmount", model.rounding),
        ("PayableAmount", model.due),
    ):
        if tag == "PayableRoundingAmount" and not value:
            continue
        _cbc(totals, tag, _amount(value, model.places), **money)
    for line in model.lines:
        _ubl_line(root, line, model, invoice=invoice)
    return root


def _ubl_party(parent: ET.Element, party: Mapping[str, Any]) -> None:
    element = _cac(parent, "Party")
    if party.get("peppol_id") and party.get("peppol_scheme_id"):
        _cbc(element, "EndpointID", peppol_identifier(party), schemeID=party["peppol_scheme_id"])
    _cbc(_cac(element, "PartyName"), "Name", party.get("name") or "-")
    address = _cac(element, "PostalAddress")
    for tag, key in (
        ("StreetName", "address"),
        ("AdditionalStreetName", "address_2"),
        ("CityName", "city"),
        ("PostalZone", "post_code"),
        ("CountrySubentity", "state"),
    ):
        if party.get(key):
            _cbc(address, tag, str(party[key]))
    _cbc(_cac(address, "Country"), "IdentificationCode", party.get("country_code") or "")
    if party.get("vat_id"):
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party["vat_id"])
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.get("name") or "-")
    if party.get("company_number"):
        _cbc(legal, "CompanyID", str(party["company_number"]))
    if party.get("email"):
        _cbc(_cac(element, "Contact"), "ElectronicMail", str(party["email"]))


def _ubl_category(element: ET.Element, category: str, rate: Decimal, *, exemption: bool) -> None:
    _cbc(element, "ID", category)
    if category != "O":
        _cbc(element, "Percent", _number(rate))
    if exemption and category in EXEMPTION_REASONS:
        code, reason = EXEMPTION_REASONS[category]
        _cbc(element, "TaxExemptionReasonCode", code)
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _ubl_line(root: ET.Element, line: _Line, model: _Model, *, invoice: bool) -> None:
    money = {"currencyID": model.currency}
    element = _cac(root, "InvoiceLine" if invoice else "CreditNoteLine")
    _cbc(element, "ID", str(line.number))
    quantity_tag = "InvoicedQuantity" if invoice else "CreditedQuantity"
    _cbc(element, quantity_tag, _number(line.quantity), unitCode=line.unit)
    _cbc(element, "LineExtensionAmount", _amount(line.net, model.places), **money)
    if line.allowance:
        allowance = _cac(element, "AllowanceCharge")
        _cbc(allowance, "ChargeIndicator", "false")
        _cbc(allowance, "AllowanceChargeReason", "Discount")
        _cbc(allowance, "Amount", _amount(line.allowance, model.places), **money)
    item = _cac(element, "Item")
    if line.description:
        _cbc(item, "Description", line.description)
    _cbc(item, "Name", line.name)
    _ubl_category(_cac(item, "ClassifiedTaxCategory"), line.category, line.rate, exemption=False)
    _cbc(_cac(element, "Price"), "PriceAmount", _number(line.price), **money)


def peppol_identifier(party: Mapping[str, Any]) -> str:
    """The party's Peppol participant identifier without its scheme (``0208:0123`` -> ``0123``)."""
    identifier = str(party["peppol_id"])
    scheme = str(party.get("peppol_scheme_id") or "")
    return identifier[len(scheme) + 1 :] if identifier.startswith(f"{scheme}:") else identifier


# UN/CEFACT CII D16B (XRechnung, ZUGFeRD / Factur-X)


def _ram(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    return _el(parent, RAM, tag, text, **attrs)


def _cii_date(parent: ET.Element, tag: str, value: dt.date) -> None:
    _el(_ram(parent, tag), UDT, "DateTimeString", value.strftime("%Y%m%d"), format="102")


def _cii(model: _Model, e_format: EInvoiceFormat) -> ET.Element:
    root = ET.Element(f"{{{RSM}}}CrossIndustryInvoice")
    context = _el(root, RSM, "ExchangedDocumentContext")
    guideline = XRECHNUNG_GUIDELINE if e_format == "xrechnung" else ZUGFERD_GUIDELINE
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", guideline)
    header = _el(root, RSM, "ExchangedDocument")
    _ram(header, "ID", model.number)
    _ram(header, "TypeCode", TYPE_CODES[model.document_type])
    _cii_date(header, "IssueDateTime", model.issue_date)
    for note in model.notes:
        _ram(_ram(header, "IncludedNote"), "Content", note)
    transaction = _el(root, RSM, "SupplyChainTradeTransaction")
    for line in model.lines:
        _cii_line(transaction, line, model)
    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    if model.buyer_reference:
        _ram(agreement, "BuyerReference", model.buyer_reference)
    _cii_party(_ram(agreement, "SellerTradeParty"), model.seller)
    _cii_party(_ram(agreement, "BuyerTradeParty"), model.buyer)
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")
    if model.delivery_date:
        _cii_date(
            _ram(delivery, "ActualDeliverySupplyChainEvent"),
            "OccurrenceDateTime",
            model.delivery_date,
        )
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    _ram(settlement, "PaymentReference", model.number)
    _ram(settlement, "InvoiceCurrencyCode", model.currency)
    if model.payment_means:
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", model.payment_means)
        if model.payment_means == SEPA_CREDIT_TRANSFER and model.iban:
            _ram(_ram(means, "PayeePartyCreditorFinancialAccount"), "IBANID", model.iban)
    for group in model.breakdown:
        _cii_tax(settlement, group, model.places)
    if model.due_date and model.due > 0:
        terms = _ram(settlement, "SpecifiedTradePaymentTerms")
        _cii_date(terms, "DueDateDateTime", model.due_date)
    totals = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    places = model.places
    _ram(totals, "LineTotalAmount", _amount(model.line_total, places))
    _ram(totals, "TaxBasisTotalAmount", _amount(model.line_total, places))
    _ram(totals, "TaxTotalAmount", _amount(model.tax_total, places), currencyID=model.currency)
    if model.rounding:
        _ram(totals, "RoundingAmount", _amount(model.rounding, places))
    _ram(totals, "GrandTotalAmount", _amount(model.line_total + model.tax_total, places))
    _ram(totals, "TotalPrepaidAmount", _amount(model.paid, places))
    _ram(totals, "DuePayableAmount", _amount(model.due, places))
    for number in model.preceding:
        _ram(_ram(settlement, "InvoiceReferencedDocument"), "IssuerAssignedID", number)
    return root


def _cii_party(element: ET.Element, party: Mapping[str, Any]) -> None:
    _ram(element, "Name", party.get("name") or "-")
    if party.get("company_number"):
        _ram(_ram(element, "SpecifiedLegalOrganization"), "ID", str(party["company_number"]))
    if party.get("email"):
        contact = _ram(element, "DefinedTradeContact")
        _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", str(party["email"]))
    address = _ram(element, "PostalTradeAddress")
    for tag, key in (
        ("PostcodeCode", "post_code"),
        ("LineOne", "address"),
        ("LineTwo", "address_2"),
        ("CityName", "city"),
    ):
        if party.get(key):
            _ram(address, tag, str(party[key]))
    _ram(address, "CountryID", party.get("country_code") or "")
    if party.get("state"):
        _ram(address, "CountrySubDivisionName", str(party["state"]))
    if party.get("peppol_id") and party.get("peppol_scheme_id"):
        uri = _ram(element, "URIUniversalCommunication")
        _ram(uri, "URIID", peppol_identifier(party), schemeID=party["peppol_scheme_id"])
    if party.get("vat_id"):
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party["vat_id"], schemeID="VA")


def _cii_tax(parent: ET.Element, group: _Breakdown, places: int) -> None:
    tax = _ram(parent, "ApplicableTradeTax")
    _ram(tax, "CalculatedAmount", _amount(group.amount, places))
    _ram(tax, "TypeCode", "VAT")
    exemption = EXEMPTION_REASONS.get(group.category)
    if exemption:
        _ram(tax, "ExemptionReason", exemption[1])
    _ram(tax, "BasisAmount", _amount(group.base, places))
    _ram(tax, "CategoryCode", group.category)
    if exemption:
        _ram(tax, "ExemptionReasonCode", exemption[0])
    if group.category != "O":
        _ram(tax, "RateApplicablePercent", _number(group.rate))


def _cii_line(parent: ET.Element, line: _Line, model: _Model) -> None:
    element = _ram(parent, "IncludedSupplyChainTradeLineItem")
    _ram(_ram(element, "AssociatedDocumentLineDocument"), "LineID", str(line.number))
    product = _ram(element, "SpecifiedTradeProduct")
    _ram(product, "Name", line.name)
    if line.description:
        _ram(product, "Description", line.description)
    agreement = _ram(element, "SpecifiedLineTradeAgreement")
    _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", _number(line.price))
    delivery = _ram(element, "SpecifiedLineTradeDelivery")
    _ram(delivery, "BilledQuantity", _number(line.quantity), unitCode=line.unit)
    settlement = _ram(element, "SpecifiedLineTradeSettlement")
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", line.category)
    if line.category != "O":
        _ram(tax, "RateApplicablePercent", _number(line.rate))
    if line.allowance:
        allowance = _ram(settlement, "SpecifiedTradeAllowanceCharge")
        _el(_ram(allowance, "ChargeIndicator"), UDT, "Indicator", "false")
        _ram(allowance, "ActualAmount", _amount(line.allowance, model.places))
        _ram(allowance, "Reason", "Discount")
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _ram(summation, "LineTotalAmount", _amount(line.net, model.places))


def documents_numbers(documents: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """The numbers of the documents found (a credit note's preceding invoices)."""
    return [str(d["number"]) for d in documents if d is not None and d.get("number")]
