"""Reference data from babel (CLDR): countries, currencies, locales.

EU membership is core.eu's, the one list the project's tax rules read too.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies, list_currencies

from core.eu import NORTHERN_IRELAND

# CLDR territory codes that are not ISO 3166-1 alpha-2 country codes.
_NOT_ISO_3166 = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)
# Northern Ireland is no CLDR territory: its currency and locale are Great Britain's.
_CLDR_TERRITORY = {NORTHERN_IRELAND: "GB"}


@functools.cache
def _english_country_names() -> dict[str, str]:
    territories = Locale("en").territories
    names = {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166
    }
    return {**names, NORTHERN_IRELAND: "Northern Ireland"}


@functools.cache
def _codes_by_name() -> dict[str, str]:
    return {name.casefold(): code for code, name in _english_country_names().items()}


def country_name(country_code: str) -> str | None:
    """English name of an ISO 3166-1 alpha-2 code, or None if the code is unknown."""
    return _english_country_names().get(country_code)


def country_code_for_name(name: str) -> str | None:
    """ISO code of an English country name (case-insensitive), or None."""
    return _codes_by_name().get(name.strip().casefold())


def currency_for_country(country_code: str) -> str | None:
    """The country's current tender currency (e.g. SI -> EUR), or None if it has none."""
    currencies = get_territory_currencies(_CLDR_TERRITORY.get(country_code, country_code))
    return str(currencies[0]) if currencies else None


def is_known_currency(currency_code: str) -> bool:
    return currency_code in list_currencies()


def minor_unit(currency_code: str) -> Decimal:
    """Smallest amount of the currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency_code))


def locale_for_country(country_code: str) -> str:
    """Most likely locale of a country as a BCP 47 tag, e.g. "sl-SI" (CLDR likely subtags)."""
    likely = get_global("likely_subtags")
    territory = _CLDR_TERRITORY.get(country_code, country_code)
    tag = likely.get(f"und_{territory}") or likely["und"]
    return f"{tag.split('_')[0]}-{territory}"


def normalize_locale(value: str) -> str | None:
    """ "sl_SI" or "sl-si" -> "sl-SI"; None if babel does not know the locale."""
    try:
        locale = Locale.parse(value.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language
