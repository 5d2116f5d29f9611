"""Keeps secrets and personal data out of the logs, whoever logs them (our code, Django, httpx).

settings.LOGGING puts `RedactingFilter` on every handler, so it sees each record once, fully
formatted: the message with its arguments, and the traceback of a logged exception. The access
log (runserver's `django.server` logger) reaches the same handler. Mail printed to the console
(the default EMAIL_BACKEND) goes through `RedactingConsoleEmailBackend`, which redacts alike.

Records are written as JSON lines (`JsonFormatter`, LOG_FORMAT=json, the default with DEBUG off)
or as text; either way each carries the current request id (`RequestIdFilter`). The JSON
formatter redacts its whole line once more, so that fields passed as `extra` are covered too.
"""

import logging
import re
from email.message import Message
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from core.request_id import request_id_current

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
    # A guest buyer's order link is a bearer credential for 90 days: its token, in a path (also
    # percent-encoded) or alone as Django signs it (payload:timestamp:signature).
    (re.compile(r"(/orders/guest/)[^/\s\"'?#]+"), r"\1[redacted]"),
    (re.compile(r"\b[\w-]{20,}:[0-9A-Za-z]{4,}:[\w-]{20,}"), "[signed token]"),
    # An email address, also percent-encoded in a logged URL (ann%40example.com).
    (re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE), "[email]"),
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


class RequestIdFilter(logging.Filter):
    """Gives each record the current request id (`-` outside of a request or its tasks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_current() or "-"
        return True


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id (when there is one),
    a logged exception's traceback, and any `extra` fields, the whole line redacted."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",  # ISO 8601, UTC
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
            **kwargs,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") == "-":
            del log_data["request_id"]
        # Django passes the request object along (its repr holds the query string); the message
        # names the path already.
        log_data.pop("request", None)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingConsoleEmailBackend(ConsoleEmailBackend):
    """Django's console mail backend, its output redacted like the logs: a guest buyer's mail
    holds their private order link and their address.

    Each text part is printed decoded, so that an encoded body (quoted-printable breaks long
    lines) cannot carry a link past the redaction.
    """

    def write_message(self, message: EmailMessage) -> None:
        rendered = message.message()
        lines = [f"{name}: {value}" for name, value in rendered.items()]
        for part in rendered.walk():
            if part.get_content_maintype() == "text":
                lines += ["", _decoded(part)]
        self.stream.write(redact("\n".join(lines)) + "\n" + "-" * 79 + "\n")


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
