"""Deemed-supplier sales (Article 14a of the VAT Directive): what invoicing adds to them.

Checkout decides the treatment (marketplace.tax: the order's ``deemed_supply``, OSS or IOSS,
at the buyer country's rate). Then the order has two documents:

- the buyer's invoice (and its credit notes) from the operator's deemed-sales entity
  (invoicing.operator), numbered ``{yyyy}-{nnnnn}`` there: services._document_create routes
  every document of a deemed-supplier order to it;
- the seller's supply of the goods to the operator (purpose ``supply``): B2B from the seller's
  entity to the operator at 0 %, exempt under Article 136a, so the seller's books show the
  sale (services._supply_to_operator_write).
"""

from django.conf import settings

from core.eu import EU_GOODS_VAT_AREA, same_vat_jurisdiction
from invoicing.client import DocumentCustomer
from marketplace.tax import RateSource, TransactionType

SUPPLY_TO_OPERATOR_NOTE = (
    "Supply to the marketplace operator, the deemed supplier of these goods (Article 14a): "
    "exempt from VAT (Article 136a, Council Directive 2006/112/EC)."
)


def supply_to_operator_treatment(*, seller_country: str) -> dict[str, object]:
    """The recorded treatment of the seller's supply to the operator, with the transaction
    type Space Invoices gives a sale from the seller's country to a business in the
    operator's."""
    operator = str(settings.OPERATOR_COUNTRY)
    if same_vat_jurisdiction(seller_country, operator):
        kind = TransactionType.DOMESTIC
    elif seller_country in EU_GOODS_VAT_AREA and operator in EU_GOODS_VAT_AREA:
        kind = TransactionType.INTRA_EU_B2B
    else:
        kind = TransactionType.THIRD_COUNTRY_B2B
    return {
        "transaction_type": kind,
        "reverse_charge": False,
        "rate_source": RateSource.ZERO,
        "tax_note": SUPPLY_TO_OPERATOR_NOTE,
        "customer_is_end_consumer": False,
        "customer_tax_number": str(settings.OPERATOR_VAT_NUMBER),
    }


def operator_customer() -> DocumentCustomer:
    """The operator as the customer of a seller's supply (its OPERATOR_* identity)."""
    customer = DocumentCustomer(
        name=str(settings.OPERATOR_NAME),
        address=str(settings.OPERATOR_ADDRESS),
        post_code=str(settings.OPERATOR_POST_CODE),
        city=str(settings.OPERATOR_CITY),
        country_code=str(settings.OPERATOR_COUNTRY),
        is_end_consumer=False,
    )
    if settings.OPERATOR_EMAIL:
        customer.email = str(settings.OPERATOR_EMAIL)
    return customer
