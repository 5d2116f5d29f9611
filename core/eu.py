"""The EU member states and the EU VAT area for goods, defined once.

Plain Python that imports nothing: the tax rules and the rate table (marketplace.tax,
marketplace.eu_vat) and the Space Invoices sandbox, which imports nothing else of the project
(the import contracts in pyproject.toml allow it this one module), read the same list, so our tax
treatment and the sandbox's transaction type cannot drift apart.
"""

EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# Northern Ireland's VAT code (not in ISO 3166-1 nor CLDR): it sells goods under the EU's VAT
# rules (Windsor Framework) and with the UK's currency. Goods between it and Great Britain are a
# UK domestic supply; between it and a member state, an intra-EU supply.
NORTHERN_IRELAND = "XI"
# Where goods move and are taxed under the EU's rules: the member states and Northern Ireland.
EU_GOODS_VAT_AREA = EU_MEMBER_STATES | {NORTHERN_IRELAND}
# Codes of one VAT jurisdiction: a sale between them is domestic.
_VAT_JURISDICTION = {NORTHERN_IRELAND: "GB"}


def same_vat_jurisdiction(first: str, second: str) -> bool:
    """Both countries charge one VAT: the same code, or Great Britain and Northern Ireland."""
    return _VAT_JURISDICTION.get(first, first) == _VAT_JURISDICTION.get(second, second)
