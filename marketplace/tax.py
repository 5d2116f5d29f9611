"""Tax treatment of one seller's sale to one buyer, following the contract's transaction types.

- A seller that is not a tax subject charges no VAT (everything is B2C for it).
- Same country: domestic, at the seller's rate for the product.
- EU seller to a business in another EU country with a VIES-valid VAT number: intra_eu_b2b,
  reverse charge at 0 % with the legal note.
- EU seller to anyone else in another EU country: intra_eu_b2c at the seller's rate, or at the
  buyer country's rate when the seller is registered for the One-Stop Shop (OSS) or its
  distance sales are over the EU-wide threshold (see invoicing.distance_sales).
- To a buyer outside the EU: 3w_b2b / 3w_b2c, a zero-rated export with its legal note; the
  contract marks such sales as reverse charge.
- Deemed supply (Article 14a of the VAT Directive), to a consumer in the EU: goods located in
  the EU sold by a seller established outside it (14a(2), declared under the One-Stop Shop,
  OSS), or goods imported into the EU in a consignment of intrinsic value up to EUR 150
  (14a(1), Import One-Stop Shop, IOSS). The marketplace operator is the supplier: it invoices
  the buyer at the buyer country's rate (`deemed_supply` names the scheme), and the seller's
  supply to it is exempt (Article 136a). An imported consignment over EUR 150, or one whose
  value is not in euro, is refused with `SaleRefused` (import VAT is due at the border).

The treatment also classifies the customer the way Space Invoices classifies documents (see
`/transaction-type/check`): a business (its tax number, not an end consumer) only where the sale
treats it as one: same country with a company or VAT number; between two EU countries with a
VIES-valid VAT number; across the EU's border with a tax number. Anyone else is an end consumer
and the document names no tax number, so Space Invoices records the same transaction type.

The catalogue sells goods, so "the EU" here is the EU VAT area for goods: the member states and
Northern Ireland (`XI`, under the Windsor Framework). A sale between Great Britain and Northern
Ireland is a UK domestic sale at the UK's rate; a sale between a member state and Northern
Ireland is intra-EU. Rates come from marketplace.eu_vat on the sale's date.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from core.eu import EU_GOODS_VAT_AREA, same_vat_jurisdiction
from marketplace.eu_vat import has_rate_table, vat_rate

REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196, Council Directive 2006/112/EC)."
)
EXPORT_NOTE = "Export outside the EU: exempt from VAT (Article 146, Council Directive 2006/112/EC)."
NO_VAT_NOTE = "The seller is not registered for VAT; no VAT is charged."
OSS_NOTE = (
    "Deemed supplier: the marketplace supplies these goods located in the EU (Article 14a(2), "
    "Council Directive 2006/112/EC); VAT of {country} declared under the One-Stop Shop (OSS)."
)
IOSS_NOTE = (
    "Deemed supplier: the marketplace supplies these goods imported in a consignment of up to "
    "EUR 150 (Article 14a(1), Council Directive 2006/112/EC); VAT of {country} declared under "
    "the Import One-Stop Shop (IOSS)."
)
# The most an imported consignment may be worth for its distance sale to be a deemed supply.
IMPORT_CONSIGNMENT_MAX_EUR = Decimal("150.00")


class TransactionType(StrEnum):
    DOMESTIC = "domestic"
    INTRA_EU_B2B = "intra_eu_b2b"
    INTRA_EU_B2C = "intra_eu_b2c"
    THIRD_COUNTRY_B2B = "3w_b2b"
    THIRD_COUNTRY_B2C = "3w_b2c"


class DeemedSupply(StrEnum):
    """The scheme of a sale the marketplace is the deemed supplier of (Article 14a)."""

    OSS = "oss"  # goods located in the EU, sold by a seller established outside it
    IOSS = "ioss"  # goods imported in a consignment of intrinsic value up to EUR 150


class RateSource(StrEnum):
    SELLER = "seller"  # the product's rate in the seller's country
    BUYER_COUNTRY = "buyer_country"  # OSS: the buyer country's rate for the product's category
    ZERO = "zero"


@dataclass(frozen=True)
class SellerTaxProfile:
    country: str
    is_tax_subject: bool
    oss_registered: bool


@dataclass(frozen=True)
class BuyerTaxProfile:
    country: str
    vat_number: str
    is_business: bool


@dataclass(frozen=True)
class Consignment:
    """The goods of one seller's order: where they are when sold, and their intrinsic value
    (the order's net) in the order's currency."""

    located_in: str
    value: Decimal
    currency: str


@dataclass(frozen=True)
class TaxTreatment:
    transaction_type: TransactionType
    reverse_charge: bool
    rate_source: RateSource
    buyer_country: str
    note: str = ""
    # The customer as the document classifies it: sent as `is_end_consumer` and `tax_number`.
    customer_is_end_consumer: bool = True
    customer_tax_number: str = ""
    # Set when the marketplace operator is the deemed supplier: it issues the buyer's invoice.
    deemed_supply: DeemedSupply | None = None

    def rate_for(self, *, seller_rate: Decimal, category: str, on: date) -> Decimal:
        if self.rate_source == RateSource.ZERO:
            return Decimal("0.00")
        if self.rate_source == RateSource.BUYER_COUNTRY:
            return vat_rate(self.buyer_country, category, on)
        return seller_rate


def seller_rate(*, country: str, category: str, on: date, own_rate: Decimal | None) -> Decimal:
    """A product's rate in its seller's country on that date: the country's rate for the
    product's category; for a country whose rates are not kept (outside the EU and the UK),
    the rate the seller set on the product."""
    if has_rate_table(country):
        return vat_rate(country, category, on)
    if own_rate is None:
        raise ValueError(f"a product of a seller in {country} needs its own tax rate")
    return own_rate


class SaleRefused(Exception):
    """A sale the marketplace has no treatment for (an imported consignment over EUR 150)."""


def tax_treatment(
    *,
    seller: SellerTaxProfile,
    buyer: BuyerTaxProfile,
    vies_valid: bool | None,
    distance_sales_over_threshold: bool = False,
    consignment: Consignment | None = None,
    operator_country: str = "",
) -> TaxTreatment:
    """The treatment of the sale; `vies_valid` is None when unchecked or VIES was unavailable.

    `distance_sales_over_threshold`: the seller's intra-EU distance sales, this one included,
    are over the EU-wide threshold (invoicing.distance_sales), so a B2C sale to another member
    state is taxed in the buyer's country.

    `consignment`: the goods sold (their location and value; None: in the seller's country,
    of no value that matters); `operator_country`: where the marketplace operator, the
    issuer of a deemed supply's invoice, is established.

    Raises SaleRefused for an imported consignment over EUR 150 to a consumer in the EU (or
    one not valued in euro), and for a deemed supply while no operator country is set.
    """
    if same_vat_jurisdiction(seller.country, buyer.country):
        business = buyer.is_business
    elif seller.country in EU_GOODS_VAT_AREA and buyer.country in EU_GOODS_VAT_AREA:
        business = bool(buyer.vat_number) and vies_valid is True
    else:  # the contract checks no VIES for a sale across the EU's border
        business = bool(buyer.vat_number)
    located_in = consignment.located_in if consignment else seller.country
    scheme = deemed_supply_scheme(
        seller_country=seller.country,
        located_in=located_in,
        buyer_country=buyer.country,
        buyer_is_business=business,
    )
    if scheme is not None:
        return _deemed_treatment(scheme, consignment, buyer.country, operator_country)
    sale = _sale_treatment(
        seller,
        buyer.country,
        business=business,
        destination=seller.oss_registered or distance_sales_over_threshold,
    )
    return replace(
        sale,
        customer_is_end_consumer=not business,
        customer_tax_number=buyer.vat_number if business else "",
    )


def _sale_treatment(
    seller: SellerTaxProfile, buyer_country: str, *, business: bool, destination: bool
) -> TaxTreatment:
    seller_eu, buyer_eu = seller.country in EU_GOODS_VAT_AREA, buyer_country in EU_GOODS_VAT_AREA
    same_country = same_vat_jurisdiction(seller.country, buyer_country)
    if not seller.is_tax_subject:
        kind = _consumer_type(same_country, seller_eu and buyer_eu)
        return TaxTreatment(kind, False, RateSource.ZERO, buyer_country, NO_VAT_NOTE)
    if same_country:
        return TaxTreatment(TransactionType.DOMESTIC, False, RateSource.SELLER, buyer_country)
    if not buyer_eu or not seller_eu:
        kind = TransactionType.THIRD_COUNTRY_B2B if business else TransactionType.THIRD_COUNTRY_B2C
        return TaxTreatment(kind, True, RateSource.ZERO, buyer_country, EXPORT_NOTE)
    if business:
        return TaxTreatment(
            TransactionType.INTRA_EU_B2B, True, RateSource.ZERO, buyer_country, REVERSE_CHARGE_NOTE
        )
    source = RateSource.BUYER_COUNTRY if destination else RateSource.SELLER
    return TaxTreatment(TransactionType.INTRA_EU_B2C, False, source, buyer_country)


def deemed_supply_scheme(
    *, seller_country: str, located_in: str, buyer_country: str, buyer_is_business: bool
) -> DeemedSupply | None:
    """Whether the marketplace is the deemed supplier of a sale to the buyer (Article 14a):
    goods imported from outside the EU VAT area for goods (IOSS, subject to the consignment's
    value), or goods inside it sold by a seller established outside it (OSS). Only a consumer
    in the EU; a move within one VAT jurisdiction (Great Britain and Northern Ireland) is no
    import."""
    if buyer_is_business or buyer_country not in EU_GOODS_VAT_AREA:
        return None
    if located_in not in EU_GOODS_VAT_AREA and not same_vat_jurisdiction(located_in, buyer_country):
        return DeemedSupply.IOSS
    if located_in in EU_GOODS_VAT_AREA and marketplace_is_deemed_supplier(
        seller_country=seller_country, buyer_country=buyer_country, buyer_is_business=False
    ):
        return DeemedSupply.OSS
    return None


def _deemed_treatment(
    scheme: DeemedSupply, consignment: Consignment | None, buyer_country: str, operator: str
) -> TaxTreatment:
    if scheme == DeemedSupply.IOSS:
        if consignment is None or consignment.currency != "EUR":
            currency = consignment.currency if consignment else "unknown"
            raise SaleRefused(
                f"goods imported into the EU are a deemed supply only in a consignment of up to "
                f"EUR {IMPORT_CONSIGNMENT_MAX_EUR}; this one is priced in {currency}, so its "
                "value in euro is not known"
            )
        if consignment.value > IMPORT_CONSIGNMENT_MAX_EUR:
            raise SaleRefused(
                f"goods imported into the EU in a consignment of EUR {consignment.value}, over "
                f"EUR {IMPORT_CONSIGNMENT_MAX_EUR}: import VAT is due at the border, and the "
                "marketplace has no treatment for it"
            )
    if not operator:
        raise SaleRefused(
            "the marketplace is the deemed supplier of this sale, and OPERATOR_COUNTRY (its "
            "issuer's country) is not set"
        )
    kind = (
        TransactionType.DOMESTIC
        if same_vat_jurisdiction(operator, buyer_country)
        else TransactionType.INTRA_EU_B2C
    )
    template = IOSS_NOTE if scheme == DeemedSupply.IOSS else OSS_NOTE
    return TaxTreatment(
        kind,
        False,
        RateSource.BUYER_COUNTRY,
        buyer_country,
        template.format(country=buyer_country),
        deemed_supply=scheme,
    )


def marketplace_is_deemed_supplier(
    *, seller_country: str, buyer_country: str, buyer_is_business: bool
) -> bool:
    """A seller outside the EU VAT area for goods selling to a consumer inside it (Article 14a);
    a sale from Great Britain to Northern Ireland stays a UK domestic sale. An order recorded
    without a deemed supply that matches this was placed before deemed supplies were issued."""
    outside_to_inside = (
        seller_country not in EU_GOODS_VAT_AREA
        and buyer_country in EU_GOODS_VAT_AREA
        and not same_vat_jurisdiction(seller_country, buyer_country)
    )
    return outside_to_inside and not buyer_is_business


def needs_vies(*, seller: SellerTaxProfile, buyer: BuyerTaxProfile) -> bool:
    """Only an intra-EU sale to a VAT number can be reverse charged on VIES's word."""
    return (
        seller.is_tax_subject
        and bool(buyer.vat_number)
        and not same_vat_jurisdiction(seller.country, buyer.country)
        and seller.country in EU_GOODS_VAT_AREA
        and buyer.country in EU_GOODS_VAT_AREA
    )


def _consumer_type(same_country: bool, both_eu: bool) -> TransactionType:
    if same_country:
        return TransactionType.DOMESTIC
    return TransactionType.INTRA_EU_B2C if both_eu else TransactionType.THIRD_COUNTRY_B2C


def is_distance_sale(treatment: TaxTreatment) -> bool:
    """A B2C sale to another member state taxed at the seller's rate: it counts towards the
    distance-sales threshold, which may move it to the buyer country's rate."""
    return (
        treatment.transaction_type == TransactionType.INTRA_EU_B2C
        and treatment.rate_source == RateSource.SELLER
    )


@dataclass(frozen=True)
class ViesResult:
    """VIES's answer about a buyer's VAT number (asked by invoicing, through Space Invoices)."""

    valid: bool | None  # None: VIES could not be asked
    checked_at: datetime
    request_id: str = ""
