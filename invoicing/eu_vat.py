"""EU member states' VAT rates: the data behind intra-EU B2C sales under the One-Stop Shop.

Source: European Commission, DG TAXUD, "VAT rates applied in the Member States of the European
Union" (taxation-customs.ec.europa.eu), situation at 1 August 2025. `reduced` is the member
state's main reduced rate (the one for most foodstuffs and books); super-reduced and parking
rates are not used here. Check the source when a member state changes its rates, and update the
date above with the table.
"""

from decimal import Decimal

RATES_AS_OF = "2025-08-01"

# country: (standard, reduced)
EU_VAT_RATES: dict[str, tuple[Decimal, Decimal]] = {
    country: (Decimal(standard), Decimal(reduced))
    for country, standard, reduced in [
        ("AT", "20", "10"),
        ("BE", "21", "6"),
        ("BG", "20", "9"),
        ("CY", "19", "5"),
        ("CZ", "21", "12"),
        ("DE", "19", "7"),
        ("DK", "25", "25"),
        ("EE", "24", "9"),
        ("ES", "21", "10"),
        ("FI", "25.5", "14"),
        ("FR", "20", "5.5"),
        ("GR", "24", "13"),
        ("HR", "25", "13"),
        ("HU", "27", "5"),
        ("IE", "23", "13.5"),
        ("IT", "22", "10"),
        ("LT", "21", "9"),
        ("LU", "17", "8"),
        ("LV", "21", "12"),
        ("MT", "18", "5"),
        ("NL", "21", "9"),
        ("PL", "23", "8"),
        ("PT", "23", "6"),
        ("RO", "21", "11"),
        ("SE", "25", "12"),
        ("SI", "22", "9.5"),
        ("SK", "23", "19"),
    ]
}

EU_COUNTRIES = frozenset(EU_VAT_RATES)


def eu_rate(country: str, category: str) -> Decimal:
    standard, reduced = EU_VAT_RATES[country]
    return reduced if category == "reduced" else standard
