"""Sample invoices a seller previews before going live: one per VAT case that applies to it,
rendered by Space Invoices in the seller's entity (its branding, number format and legal notes)
without keeping the document or using a number (``POST /invoices/render``).

Each sample's tax treatment is decided by the same function as a real sale's
(marketplace.tax.tax_treatment), so the preview carries the rate, reverse charge and note an
invoice of that case will carry.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from core.errors import ApplicationError
from core.eu import EU_GOODS_VAT_AREA
from invoicing import gateway
from invoicing.client import (
    DocumentCustomer,
    DocumentItem,
    InvoiceCreate,
    ItemTax,
    SpaceInvoicesClient,
)
from marketplace.tax import (
    BuyerTaxProfile,
    SaleRefused,
    SellerTaxProfile,
    TaxTreatment,
    seller_rate,
    tax_treatment,
)
from sellers.models import Seller

# A sample line's net unit price and quantity; outside the rate tables, this rate stands in
# for the seller's own.
SAMPLE_PRICE = Decimal("25.00")
SAMPLE_QUANTITY = 2
SAMPLE_OWN_RATE = Decimal("20.00")
# Sample business customers: VAT numbers the VIES of Space Invoices' sandbox knows.
_SAMPLE_VAT = {"DE": "DE136695976", "AT": "ATU13585627"}


@dataclass(frozen=True)
class PreviewCase:
    key: str
    label: str
    buyer_name: str
    buyer: BuyerTaxProfile


def preview_cases(seller: Seller) -> list[PreviewCase]:
    """The VAT cases of the seller's sales, one sample buyer each: domestic, an EU business
    (reverse charge), an EU consumer, a buyer outside the EU; the cases that do not apply (an
    EU business for a seller outside the EU or one that is not a tax subject, a sale the
    marketplace would invoice as deemed supplier) are left out."""
    home = str(seller.country)
    other = "AT" if home == "DE" else "DE"
    candidates = [
        PreviewCase(
            "domestic", "Domestic sale", "Sample Buyer",
            BuyerTaxProfile(country=home, vat_number="", is_business=False),
        ),
        PreviewCase(
            "eu_business", "EU business (reverse charge)", "Sample Business GmbH",
            BuyerTaxProfile(country=other, vat_number=_SAMPLE_VAT[other], is_business=True),
        ),
        PreviewCase(
            "eu_consumer", "EU consumer", "Sample Consumer",
            BuyerTaxProfile(country=other, vat_number="", is_business=False),
        ),
        PreviewCase(
            "outside_eu", "Outside the EU", "Sample Customer Inc.",
            BuyerTaxProfile(country="US", vat_number="", is_business=False),
        ),
    ]  # fmt: skip
    cases = []
    for case in candidates:
        if case.key == "eu_business" and not (seller.is_tax_subject and home in EU_GOODS_VAT_AREA):
            continue
        if case.key == "domestic" or _treatment(seller, case) is not None:
            cases.append(case)
    return cases


def seller_invoice_preview(
    *, seller: Seller, case_key: str, client: SpaceInvoicesClient | None = None
) -> bytes:
    """The PDF of the seller's sample invoice for one of its cases (nothing is numbered)."""
    case = next((c for c in preview_cases(seller) if c.key == case_key), None)
    if case is None:
        raise ApplicationError(
            f"No sample invoice '{case_key}' for this seller.",
            field="case",
            code="not_found",
            http_status=404,
        )
    if seller.entity_id is None:
        raise ApplicationError(
            "Your invoicing account is still being created; the preview follows in a moment.",
            code="entity_pending",
            http_status=409,
        )
    treatment = _treatment(seller, case)
    assert treatment is not None  # preview_cases kept only the cases with one
    payload = sample_invoice(seller, case, treatment, on=timezone.localdate())
    client = client or gateway.space_invoices_client()
    return client.invoice_render(entity_id=seller.entity_id, payload=payload)


def sample_invoice(
    seller: Seller, case: PreviewCase, treatment: TaxTreatment, *, on: date
) -> InvoiceCreate:
    own_rate = seller_rate(
        country=str(seller.country), category="standard", on=on, own_rate=SAMPLE_OWN_RATE
    )
    rate = treatment.rate_for(seller_rate=own_rate, category="standard", on=on)
    tax = ItemTax(rate=rate)
    if treatment.reverse_charge:
        tax.reverse_charge = True
    customer = DocumentCustomer(
        name=case.buyer_name,
        address="1 Sample Street",
        post_code="1000",
        city="Sample City",
        country_code=case.buyer.country,
        is_end_consumer=treatment.customer_is_end_consumer,
    )
    if treatment.customer_tax_number:
        customer.tax_number = treatment.customer_tax_number
    invoice = InvoiceCreate(
        date=on.isoformat(),
        customer=customer,
        items=[
            DocumentItem(
                name="Sample product",
                quantity=Decimal(SAMPLE_QUANTITY),
                price=SAMPLE_PRICE,
                taxes=[tax],
            )
        ],
    )
    if treatment.note:
        invoice.note = treatment.note
    return invoice


def _treatment(seller: Seller, case: PreviewCase) -> TaxTreatment | None:
    profile = SellerTaxProfile(
        country=str(seller.country),
        is_tax_subject=seller.is_tax_subject,
        oss_registered=seller.oss_registered,
    )
    try:
        treatment = tax_treatment(seller=profile, buyer=case.buyer, vies_valid=True)
    except SaleRefused:
        return None
    # A deemed supply's invoice is the marketplace operator's, not the seller's to preview.
    return None if treatment.deemed_supply is not None else treatment
