"""Figures as finance reads them on the report pages: amounts with their currency's minor unit,
numbers and durations in the reader's locale (the browser's Accept-Language).

Amounts arrive already quantised by the selectors; this only spells them.
"""

from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit
from django.conf import settings
from django.http import HttpRequest

# At most this many preferences of an Accept-Language header are tried.
_MAX_LANGUAGES = 8
# Largest unit first; a duration shows its two largest non-zero units.
_UNITS = (
    ("duration-day", 86400),
    ("duration-hour", 3600),
    ("duration-minute", 60),
    ("duration-second", 1),
)


def request_locale(request: HttpRequest | None) -> Locale:
    """The first locale of the request's Accept-Language that babel knows, else LANGUAGE_CODE's."""
    header = request.headers.get("accept-language", "") if request is not None else ""
    return _locale_of(header[:200])


@lru_cache(maxsize=256)
def _locale_of(header: str) -> Locale:
    for tag in _preferred(header):
        try:
            return Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse(settings.LANGUAGE_CODE, sep="-")


def _preferred(header: str) -> list[str]:
    """The header's language tags, most preferred first (RFC 9110 `q` weights)."""
    weighted = []
    for position, part in enumerate(header.split(",")[:_MAX_LANGUAGES]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def format_amount(amount: Decimal, currency: str, locale: Locale) -> str:
    """The amount with its currency's minor unit (2 for EUR, 0 for JPY), grouped for `locale`;
    the currency itself is shown beside it by the page."""
    pattern = locale.decimal_formats[None]
    return format_currency(amount, currency, format=pattern, locale=locale, currency_digits=True)


def format_number(value: Decimal | int, locale: Locale) -> str:
    """A count or a rate: no trailing zeros (22, 9.5), grouped for `locale`."""
    return format_decimal(value, locale=locale)


def format_duration(duration: timedelta, locale: Locale) -> str:
    """The duration as "1.1 sec" under a minute, else in its two largest units ("5 min",
    "1 hr, 5 min")."""
    seconds = duration.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    tenths = Decimal(str(round(seconds, 1)))
    if tenths < 60:
        return sign + format_unit(tenths, "duration-second", length="short", locale=locale)
    remaining = round(seconds)
    parts: list[tuple[str, int]] = []
    for unit, size in _UNITS:
        count, remaining = divmod(remaining, size)
        if count or parts:
            parts.append((unit, count))
    shown = [
        format_unit(count, unit, length="short", locale=locale)
        for unit, count in parts[:2]
        if count
    ]
    return sign + format_list(shown, style="unit-short", locale=locale)
