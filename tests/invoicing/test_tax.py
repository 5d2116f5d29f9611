# ruff: noqa: E501  (the matrix reads best one sale per line)
"""The tax matrix: seller country x buyer country and type x VAT number validity x OSS."""

from decimal import Decimal

import pytest

from invoicing.tax import (
    EXPORT_NOTE,
    NO_VAT_NOTE,
    REVERSE_CHARGE_NOTE,
    BuyerTaxProfile,
    DeemedSupplyError,
    SellerTaxProfile,
    tax_treatment,
)
from marketplace.pricing import PricedLine, order_totals

SI_STANDARD, SI_REDUCED = Decimal("22.00"), Decimal("9.50")

# seller country, tax subject, OSS | buyer country, business, VAT number, VIES answer |
# product category | transaction type, reverse charge, rate, gross of 2 x 50.00, note
MATRIX = [
    ("SI", True, False, "SI", False, "", None, "standard", "domestic", False, "22", "122.00", ""),
    ("SI", True, True, "SI", True, "SI50223054", True, "reduced", "domestic", False, "9.50", "109.50", ""),
    ("SI", True, False, "DE", True, "DE136695976", True, "standard", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("SI", True, True, "DE", True, "DE136695976", True, "reduced", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("SI", True, False, "DE", True, "DE123456788", False, "standard", "intra_eu_b2c", False, "22", "122.00", ""),
    ("SI", True, True, "DE", True, "DE123456788", False, "standard", "intra_eu_b2c", False, "19", "119.00", ""),
    ("SI", True, False, "DE", True, "DE136695976", None, "standard", "intra_eu_b2c", False, "22", "122.00", ""),
    ("SI", True, False, "DE", False, "", None, "standard", "intra_eu_b2c", False, "22", "122.00", ""),
    ("SI", True, True, "DE", False, "", None, "standard", "intra_eu_b2c", False, "19", "119.00", ""),
    ("SI", True, True, "DE", False, "", None, "reduced", "intra_eu_b2c", False, "7", "107.00", ""),
    ("SI", True, True, "FR", False, "", None, "reduced", "intra_eu_b2c", False, "5.5", "105.50", ""),
    ("SI", True, True, "HU", False, "", None, "standard", "intra_eu_b2c", False, "27", "127.00", ""),
    ("SI", True, False, "US", False, "", None, "standard", "3w_b2c", True, "0", "100.00", EXPORT_NOTE),
    ("SI", True, True, "CH", True, "CHE-116.281.710", None, "standard", "3w_b2b", True, "0", "100.00", EXPORT_NOTE),
    ("SI", True, True, "CH", True, "", None, "standard", "3w_b2c", True, "0", "100.00", EXPORT_NOTE),
    ("SI", False, False, "SI", False, "", None, "standard", "domestic", False, "0", "100.00", NO_VAT_NOTE),
    ("SI", False, False, "DE", True, "DE136695976", True, "standard", "intra_eu_b2c", False, "0", "100.00", NO_VAT_NOTE),
    ("SI", False, False, "US", False, "", None, "standard", "3w_b2c", False, "0", "100.00", NO_VAT_NOTE),
    ("DE", True, False, "DE", False, "", None, "reduced", "domestic", False, "9.50", "109.50", ""),
    ("DE", True, False, "AT", True, "ATU13585627", True, "standard", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("DE", True, True, "AT", False, "", None, "standard", "intra_eu_b2c", False, "20", "120.00", ""),
    ("US", True, False, "US", False, "", None, "standard", "domestic", False, "22", "122.00", ""),
    ("US", True, False, "DE", True, "DE136695976", None, "standard", "3w_b2b", True, "0", "100.00", EXPORT_NOTE),
    ("US", True, False, "CA", False, "", None, "standard", "3w_b2c", True, "0", "100.00", EXPORT_NOTE),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "seller_country", "tax_subject", "oss", "buyer_country", "business", "vat_number",
        "vies_valid", "category", "transaction_type", "reverse_charge", "rate", "gross", "note",
    ),
    MATRIX,
)  # fmt: skip
def test_tax_matrix(
    seller_country, tax_subject, oss, buyer_country, business, vat_number, vies_valid, category,
    transaction_type, reverse_charge, rate, gross, note,
):  # fmt: skip
    # The product's domestic rate is the seller's (SI rates stand in for any seller here).
    seller_rate = SI_REDUCED if category == "reduced" else SI_STANDARD
    treatment = tax_treatment(
        seller=SellerTaxProfile(seller_country, tax_subject, oss),
        buyer=BuyerTaxProfile(buyer_country, vat_number, business),
        vies_valid=vies_valid,
    )
    line_rate = treatment.rate_for(seller_rate=seller_rate, category=category)
    totals = order_totals([PricedLine(2, Decimal("50.00"), line_rate)], "EUR")

    assert treatment.transaction_type == transaction_type
    assert treatment.reverse_charge is reverse_charge
    assert line_rate == Decimal(rate)
    assert totals.gross == Decimal(gross)
    assert treatment.note == note


# seller country, tax subject | buyer country, business, VAT number, VIES answer |
# the customer as documents name it: is_end_consumer, tax_number
CUSTOMERS = [
    ("SI", True, "SI", False, "", None, True, ""),
    ("SI", True, "SI", True, "", None, False, ""),
    ("SI", True, "SI", True, "SI50223054", None, False, "SI50223054"),
    ("SI", True, "DE", True, "DE136695976", True, False, "DE136695976"),
    # Well-formed but not registered, or VIES down: the buyer is not a business for the sale.
    ("SI", True, "DE", True, "DE123456788", False, True, ""),
    ("SI", True, "DE", True, "DE136695976", None, True, ""),
    ("SI", True, "CH", True, "CHE-116.281.710", None, False, "CHE-116.281.710"),
    ("SI", True, "CH", True, "", None, True, ""),
    ("SI", False, "DE", True, "DE136695976", True, False, "DE136695976"),
    ("US", True, "DE", True, "DE136695976", None, False, "DE136695976"),
    ("US", True, "CA", True, "", None, True, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seller_country", "tax_subject", "buyer_country", "business", "vat_number", "vies_valid",
     "is_end_consumer", "tax_number"),
    CUSTOMERS,
)  # fmt: skip
def test_the_treatment_classifies_the_customer_as_the_sale_treats_it(
    seller_country, tax_subject, buyer_country, business, vat_number, vies_valid,
    is_end_consumer, tax_number,
):  # fmt: skip
    treatment = tax_treatment(
        seller=SellerTaxProfile(seller_country, tax_subject, False),
        buyer=BuyerTaxProfile(buyer_country, vat_number, business),
        vies_valid=vies_valid,
    )

    assert (treatment.customer_is_end_consumer, treatment.customer_tax_number) == (
        is_end_consumer,
        tax_number,
    )


@pytest.mark.parametrize(
    ("seller_country", "tax_subject", "vat_number", "vies_valid"),
    [
        ("US", True, "", None),
        ("US", False, "", None),
        ("CH", True, "", None),
    ],
)
def test_a_non_eu_sellers_sale_to_an_eu_consumer_is_no_export_but_a_deemed_supply(
    seller_country, tax_subject, vat_number, vies_valid
):
    with pytest.raises(DeemedSupplyError, match="Article 14a"):
        tax_treatment(
            seller=SellerTaxProfile(seller_country, tax_subject, False),
            buyer=BuyerTaxProfile("DE", vat_number, bool(vat_number)),
            vies_valid=vies_valid,
        )
