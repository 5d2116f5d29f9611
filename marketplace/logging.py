"""Keeps secrets and personal data out of the logs, whoever logs them (our code, Django, httpx).

settings.LOGGING puts `RedactingFilter` on every handler, so it sees each record once, fully
formatted: the message with its arguments, and the traceback of a logged exception.
"""

import logging
import re

# The EU's VAT prefixes (EL for Greece, XI for Northern Ireland) and GB, CH(E) and NO besides.
_VAT_PREFIXES = (
    "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI|GB|CHE|NO"
)

# Order matters: a header's value goes before the bare key patterns would see part of it.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # An Authorization header as text, a dict or a repr: everything up to the end of its value.
    (
        re.compile(r"""(authorization["']?\s*[:=]\s*["']?)[^"'\n,}]+""", re.IGNORECASE),
        r"\1[redacted]",
    ),
    (re.compile(r"\b(bearer)\s+[^\s\"',}]+", re.IGNORECASE), r"\1 [redacted]"),
    # DRF's `Token <40 hex>` scheme.
    (re.compile(r"\b(token)\s+[0-9a-f]{40}\b", re.IGNORECASE), r"\1 [redacted]"),
    # Space Invoices account and entity keys, webhook signing secrets.
    (re.compile(r"\b(?:sk|ek|whsec)_[A-Za-z0-9_]+"), "[secret]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # A country prefix, then 2-13 capitals and digits (two digits at least) that may be grouped
    # by spaces, dots or dashes before digits: SI50223054, DE 136 695 976, CHE-123.456.789.
    (
        re.compile(
            rf"\b(?:{_VAT_PREFIXES})[ .-]?(?=(?:[ .-]?[0-9A-Z])*?\d(?:[ .-]?[0-9A-Z])*?\d)"
            r"[0-9A-Z](?:[ .-]?\d|[0-9A-Z]){1,12}\b"
        ),
        "[vat number]",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (arguments merged in) and traceback text, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the message: logging would print both raw on stderr.
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
