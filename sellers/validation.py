"""Checks on a seller's identity: ISO country codes and tax numbers per country (python-stdnum)."""

from babel import Locale
from django_countries import countries
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import ApplicationError

_CURRENCIES = frozenset(Locale("en").currencies)

# The VAT prefix differs from the ISO code for Greece.
VAT_PREFIX = {"GR": "EL"}


def country_code_validate(value: str, *, field: str = "country") -> str:
    code = value.strip().upper()
    if code not in dict(countries):
        raise ApplicationError(f"'{value}' is not an ISO 3166-1 alpha-2 country code.", field=field)
    return code


def tax_number_normalize(value: str, *, country: str, field: str = "tax_number") -> str:
    """The tax number in compact form, prefixed as a VAT number in the EU; raises if invalid."""
    number = value.strip()
    if not number:
        return ""
    prefix = VAT_PREFIX.get(country, country)
    try:
        if country.lower() in eu_vat.MEMBER_STATES:
            compact = eu_vat.compact(number)
            if not compact.startswith(prefix):
                compact = prefix + compact
            if eu_vat.guess_country(compact) != [country.lower()]:
                raise StdnumError
            return str(eu_vat.validate(compact))
        module = get_cc_module(country.lower(), "vat") or get_cc_module(country.lower(), "tin")
        if module is None:
            return number
        return str(module.validate(number))
    except StdnumError:
        raise ApplicationError(
            f"'{value}' is not a valid tax number for {country}.", field=field
        ) from None


def tax_number_country(value: str) -> str:
    """The EU member state an EU VAT number's own prefix names ('' without one)."""
    prefix = value.strip()[:2].upper()
    country = {vat: iso for iso, vat in VAT_PREFIX.items()}.get(prefix, prefix)
    return country if country.lower() in eu_vat.MEMBER_STATES else ""


def seller_tax_identity_validate(
    *, country: str, tax_number: str, is_tax_subject: bool
) -> tuple[str, str]:
    """A seller's country code and compact tax number; a tax subject must have one."""
    code = country_code_validate(country)
    number = tax_number_normalize(tax_number, country=code)
    if is_tax_subject and not number:
        raise ApplicationError("A tax subject needs a tax number.", field="tax_number")
    return code, number


def currency_code_validate(value: str, *, field: str = "currency") -> str:
    """An ISO 4217 code that babel knows, with its minor unit."""
    code = value.strip().upper()
    if len(code) != 3 or code not in _CURRENCIES:
        raise ApplicationError(f"'{value}' is not an ISO 4217 currency code.", field=field)
    return code
