"""Checks on a seller's identity: ISO country codes and tax numbers per country (python-stdnum),
and what DAC7 platform reporting collects (TIN, IBAN, date of birth)."""

import re
from dataclasses import dataclass, replace
from datetime import date

from babel import Locale
from dac7.models.dpi import INDIVIDUAL_TIN_PATTERNS
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django_countries import countries
from PIL import Image, UnidentifiedImageError
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import ApplicationError
from sellers.models import SellerKind

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


@dataclass(frozen=True)
class Dac7Details:
    """What DAC7 platform reporting needs of a seller besides its name, address and VAT
    number; every field may stay blank (the report lists the seller as incomplete)."""

    seller_kind: str = ""
    first_name: str = ""
    last_name: str = ""
    date_of_birth: date | None = None
    tin: str = ""
    tin_country: str = ""
    business_registration_number: str = ""
    iban: str = ""


_TIN_CHARACTERS = re.compile(r"[A-Z0-9+\-./]{1,30}")
_EARLIEST_BIRTH = date(1900, 1, 1)


def seller_dac7_details_validate(details: Dac7Details, *, today: date) -> Dac7Details:
    """The details trimmed and in compact form; raises naming the first field that is wrong."""
    if details.seller_kind not in ("", *SellerKind.values):
        raise ApplicationError(
            f"'{details.seller_kind}' is not one of: {', '.join(SellerKind.values)}.",
            field="seller_kind",
        )
    tin_country = details.tin_country.strip()
    if tin_country:
        tin_country = country_code_validate(tin_country, field="tin_country")
    return replace(
        details,
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        date_of_birth=_birth_date_validate(details.date_of_birth, today=today),
        tin=_tin_validate(details.tin, country=tin_country, kind=details.seller_kind),
        tin_country=tin_country,
        business_registration_number=details.business_registration_number.strip(),
        iban=_iban_validate(details.iban),
    )


def _birth_date_validate(value: date | None, *, today: date) -> date | None:
    if value is not None and not _EARLIEST_BIRTH <= value < today:
        raise ApplicationError(
            f"{value.isoformat()} is not a date of birth: give a date from "
            f"{_EARLIEST_BIRTH.isoformat()} to yesterday.",
            field="date_of_birth",
        )
    return value


def _tin_validate(value: str, *, country: str, kind: str) -> str:
    """The TIN without spaces, upper case; an individual's must have the form the DAC7 file
    accepts for its issuing country (the patterns of the `dac7` package)."""
    tin = "".join(value.split()).upper()
    if not tin:
        return ""
    if not _TIN_CHARACTERS.fullmatch(tin):
        raise ApplicationError(
            f"'{value}' is not a TIN: up to 30 letters, digits and + - . /.", field="tin"
        )
    if not country:
        raise ApplicationError("Give the country that issued the TIN.", field="tin_country")
    pattern = INDIVIDUAL_TIN_PATTERNS.get(country)
    # re.match as the dac7 package checks it, so that what is accepted here files there.
    if kind == SellerKind.INDIVIDUAL and pattern and not re.match(pattern, tin):
        raise ApplicationError(
            f"'{value}' is not an individual's TIN as {country} issues it.", field="tin"
        )
    return tin


def _iban_validate(value: str) -> str:
    return iban_validate(value)


def iban_validate(value: str, *, field: str = "iban") -> str:
    """The IBAN in compact form (schwifty checks its country, length, bank code and check
    digits); blank stays blank."""
    if not value.strip():
        return ""
    try:
        return str(IBAN(value).compact)
    except SchwiftyException:
        raise ApplicationError(f"'{value}' is not a valid IBAN.", field=field) from None


def bic_validate(value: str, *, field: str = "bic") -> str:
    if not value.strip():
        return ""
    try:
        return str(BIC(value).compact)
    except SchwiftyException:
        raise ApplicationError(f"'{value}' is not a valid BIC.", field=field) from None


_HEX_COLOUR = re.compile(r"#?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")


def colour_validate(value: str, *, field: str = "primary_colour") -> str:
    """A colour as #RRGGBB in upper case, from #RRGGBB or #RGB (the leading # optional)."""
    match = _HEX_COLOUR.fullmatch(value.strip())
    if match is None:
        raise ApplicationError(
            f"'{value}' is not a colour: use a hex colour such as #1A73E8.", field=field
        )
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return f"#{digits.upper()}"


LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


def logo_validate(upload: UploadedFile, *, field: str = "logo") -> str:
    """Check an uploaded logo is a PNG or JPEG image (opened and verified by Pillow, whatever
    its name says) within SELLER_LOGO_MAX_BYTES; answers its content type."""
    limit = settings.SELLER_LOGO_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ApplicationError(
            f"The logo is larger than {limit // 1024} KB: upload a smaller image.", field=field
        )
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image_format = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ApplicationError(
            "The logo is not an image: upload a PNG or JPEG.", field=field
        ) from None
    finally:
        upload.seek(0)
    if image_format not in LOGO_FORMATS:
        raise ApplicationError(
            f"The logo is a {image_format or 'unknown'} image: upload a PNG or JPEG.", field=field
        )
    return LOGO_FORMATS[image_format]
