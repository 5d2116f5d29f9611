# ruff: noqa: E501  (the matrix reads best one sale per line)
"""The tax matrix: seller country x buyer country and type x VAT number validity x OSS."""

from datetime import date
from decimal import Decimal

import pytest

from marketplace.eu_vat import vat_rate
from marketplace.pricing import PricedLine, order_totals
from marketplace.tax import (
    EXPORT_NOTE,
    IOSS_NOTE,
    NO_VAT_NOTE,
    OSS_NOTE,
    REVERSE_CHARGE_NOTE,
    BuyerTaxProfile,
    Consignment,
    SaleRefused,
    SellerTaxProfile,
    needs_vies,
    seller_rate,
    tax_treatment,
)

ON = date(2026, 1, 2)
# The rate a seller outside the rate tables (here the US one) set on its product.
OWN_RATE = Decimal("22.00")

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
    ("DE", True, False, "DE", False, "", None, "reduced", "domestic", False, "7", "107.00", ""),
    ("DE", True, False, "AT", True, "ATU13585627", True, "standard", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("DE", True, True, "AT", False, "", None, "standard", "intra_eu_b2c", False, "20", "120.00", ""),
    ("US", True, False, "US", False, "", None, "standard", "domestic", False, "22", "122.00", ""),
    ("US", True, False, "DE", True, "DE136695976", None, "standard", "3w_b2b", True, "0", "100.00", EXPORT_NOTE),
    ("US", True, False, "CA", False, "", None, "standard", "3w_b2c", True, "0", "100.00", EXPORT_NOTE),
    # Categories map per country; a band the country lacks falls back to the next higher one.
    ("IE", True, False, "IE", False, "", None, "zero", "domestic", False, "0", "100.00", ""),
    ("IE", True, False, "IE", False, "", None, "super_reduced", "domestic", False, "4.8", "104.80", ""),
    ("FR", True, False, "FR", False, "", None, "super_reduced", "domestic", False, "2.1", "102.10", ""),
    ("DE", True, False, "DE", False, "", None, "super_reduced", "domestic", False, "7", "107.00", ""),
    ("DE", True, False, "DE", False, "", None, "zero", "domestic", False, "7", "107.00", ""),
    ("DK", True, False, "DK", False, "", None, "reduced", "domestic", False, "25", "125.00", ""),
    ("SI", True, True, "IE", False, "", None, "zero", "intra_eu_b2c", False, "0", "100.00", ""),
    # Northern Ireland: in the EU VAT area for goods at the UK's rates; one country with GB.
    ("GB", True, False, "XI", False, "", None, "standard", "domestic", False, "20", "120.00", ""),
    ("XI", True, False, "GB", True, "", None, "reduced", "domestic", False, "5", "105.00", ""),
    ("XI", True, False, "XI", False, "", None, "zero", "domestic", False, "0", "100.00", ""),
    ("XI", True, False, "IE", True, "IE6433435F", True, "standard", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("DE", True, False, "XI", True, "XI980780684", True, "standard", "intra_eu_b2b", True, "0", "100.00", REVERSE_CHARGE_NOTE),
    ("XI", True, False, "FR", False, "", None, "standard", "intra_eu_b2c", False, "20", "120.00", ""),
    ("DE", True, True, "XI", False, "", None, "reduced", "intra_eu_b2c", False, "5", "105.00", ""),
    ("DE", True, False, "XI", False, "", None, "reduced", "intra_eu_b2c", False, "7", "107.00", ""),
    ("GB", True, False, "DE", True, "DE136695976", None, "standard", "3w_b2b", True, "0", "100.00", EXPORT_NOTE),
    ("DE", True, False, "GB", False, "", None, "standard", "3w_b2c", True, "0", "100.00", EXPORT_NOTE),
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
    own = seller_rate(country=seller_country, category=category, on=ON, own_rate=OWN_RATE)
    treatment = tax_treatment(
        seller=SellerTaxProfile(seller_country, tax_subject, oss),
        buyer=BuyerTaxProfile(buyer_country, vat_number, business),
        vies_valid=vies_valid,
    )
    line_rate = treatment.rate_for(seller_rate=own, category=category, on=ON)
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


# seller country, tax subject | goods located in, consignment net, currency | buyer country,
# VAT number | transaction type, deemed supply, rate source, note (operator in SI)
DEEMED_TABLE = [
    # A seller outside the EU, goods in the EU, to an EU consumer: OSS, the buyer country's VAT.
    (
        "US",
        True,
        "DE",
        "500.00",
        "USD",
        "FR",
        "",
        "intra_eu_b2c",
        "oss",
        "buyer_country",
        OSS_NOTE.format(country="FR"),
    ),
    (
        "US",
        False,
        "DE",
        "500.00",
        "EUR",
        "DE",
        "",
        "intra_eu_b2c",
        "oss",
        "buyer_country",
        OSS_NOTE.format(country="DE"),
    ),
    (
        "CH",
        True,
        "SI",
        "20.00",
        "CHF",
        "SI",
        "",
        "domestic",
        "oss",
        "buyer_country",
        OSS_NOTE.format(country="SI"),
    ),
    (
        "GB",
        True,
        "XI",
        "20.00",
        "GBP",
        "IE",
        "",
        "intra_eu_b2c",
        "oss",
        "buyer_country",
        OSS_NOTE.format(country="IE"),
    ),
    # Goods imported in a consignment up to EUR 150, to an EU consumer: IOSS, whoever sells.
    (
        "US",
        True,
        "US",
        "150.00",
        "EUR",
        "DE",
        "",
        "intra_eu_b2c",
        "ioss",
        "buyer_country",
        IOSS_NOTE.format(country="DE"),
    ),
    (
        "SI",
        True,
        "CN",
        "20.00",
        "EUR",
        "SI",
        "",
        "domestic",
        "ioss",
        "buyer_country",
        IOSS_NOTE.format(country="SI"),
    ),
    # No deemed supply: an EU business buyer, a buyer outside the EU, an EU seller's goods in the
    # EU, a sale within the UK.
    ("US", True, "DE", "500.00", "USD", "DE", "DE136695976", "3w_b2b", None, "zero", EXPORT_NOTE),
    ("US", True, "US", "500.00", "USD", "DE", "DE136695976", "3w_b2b", None, "zero", EXPORT_NOTE),
    ("US", True, "DE", "500.00", "USD", "CH", "", "3w_b2c", None, "zero", EXPORT_NOTE),
    ("SI", True, "SI", "500.00", "EUR", "DE", "", "intra_eu_b2c", None, "seller", ""),
    ("GB", True, "GB", "500.00", "GBP", "XI", "", "domestic", None, "seller", ""),
]


@pytest.mark.parametrize(
    ("seller_country", "tax_subject", "located_in", "value", "currency", "buyer_country",
     "vat_number", "kind", "deemed", "source", "note"),
    DEEMED_TABLE,
)  # fmt: skip
def test_deemed_supply_treatment_table(
    seller_country, tax_subject, located_in, value, currency, buyer_country, vat_number, kind,
    deemed, source, note
):  # fmt: skip
    treatment = tax_treatment(
        seller=SellerTaxProfile(seller_country, tax_subject, False),
        buyer=BuyerTaxProfile(buyer_country, vat_number, bool(vat_number)),
        vies_valid=None,
        consignment=Consignment(located_in, Decimal(value), currency),
        operator_country="SI",
    )

    assert (
        treatment.transaction_type,
        treatment.deemed_supply,
        treatment.rate_source,
        treatment.note,
        treatment.reverse_charge,
    ) == (kind, deemed, source, note, kind in ("3w_b2b", "3w_b2c"))
    if deemed:
        assert treatment.rate_for(seller_rate=OWN_RATE, category="standard", on=ON) == vat_rate(
            buyer_country, "standard", ON
        )


@pytest.mark.parametrize(
    ("value", "currency", "operator", "message"),
    [
        ("150.01", "EUR", "SI", "consignment of EUR 150.01, over EUR 150.00"),
        ("20.00", "USD", "SI", "priced in USD"),
        ("20.00", "EUR", "", "OPERATOR_COUNTRY"),
    ],
)
def test_an_import_over_150_euro_not_in_euro_or_without_an_operator_is_refused(
    value, currency, operator, message
):
    with pytest.raises(SaleRefused, match=message):
        tax_treatment(
            seller=SellerTaxProfile("US", True, False),
            buyer=BuyerTaxProfile("DE", "", False),
            vies_valid=None,
            consignment=Consignment("US", Decimal(value), currency),
            operator_country=operator,
        )


@pytest.mark.parametrize(
    ("over", "rate", "gross"),
    [(False, "22", "122.00"), (True, "19", "119.00")],
)
def test_over_the_distance_sales_threshold_a_b2c_sale_is_taxed_in_the_buyer_country(
    over, rate, gross
):
    treatment = tax_treatment(
        seller=SellerTaxProfile("SI", True, False),
        buyer=BuyerTaxProfile("DE", "", False),
        vies_valid=None,
        distance_sales_over_threshold=over,
    )
    own = seller_rate(country="SI", category="standard", on=ON, own_rate=None)
    line_rate = treatment.rate_for(seller_rate=own, category="standard", on=ON)

    assert treatment.transaction_type == "intra_eu_b2c"
    assert line_rate == Decimal(rate)
    assert order_totals([PricedLine(2, Decimal("50.00"), line_rate)], "EUR").gross == Decimal(gross)


@pytest.mark.parametrize(
    ("seller_country", "buyer_country", "vat_number", "asked"),
    [
        ("DE", "XI", "XI980780684", True),
        ("XI", "IE", "IE6433435F", True),
        ("GB", "XI", "XI980780684", False),
        ("XI", "GB", "GB980780684", False),
        ("GB", "DE", "DE136695976", False),
    ],
)
def test_vies_is_asked_for_northern_ireland_numbers_across_the_eu_border(
    seller_country, buyer_country, vat_number, asked
):
    assert (
        needs_vies(
            seller=SellerTaxProfile(seller_country, True, False),
            buyer=BuyerTaxProfile(buyer_country, vat_number, True),
        )
        is asked
    )
