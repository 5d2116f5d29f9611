"""`{% load report_format %}`: figures on the report pages in the reader's locale, as in
`{% amount line.gross line.currency %}`, `{% number row.rate %}`, `{% duration row.longest %}`.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import template

from reporting.formatting import format_amount, format_duration, format_number, request_locale

register = template.Library()


def _locale(context: template.Context) -> Any:
    return request_locale(context.get("request"))


@register.simple_tag(takes_context=True)
def amount(context: template.Context, value: Decimal | None, currency: str) -> str:
    return "" if value is None else format_amount(value, currency, _locale(context))


@register.simple_tag(takes_context=True)
def number(context: template.Context, value: Decimal | int | None) -> str:
    return "" if value is None else format_number(value, _locale(context))


@register.simple_tag(takes_context=True)
def duration(context: template.Context, value: timedelta | None) -> str:
    return "" if value is None else format_duration(value, _locale(context))
