"""Document number formats such as ``"{yyyy}-{nnnnn}"`` or ``"CN-{yy}/{nnn}"``.

Tokens: ``{yyyy}`` (year of the document date), ``{yy}`` (its last two digits) and exactly one
``{n...}`` (the sequence value, zero-padded to the count of ``n``). When a format holds a year
token, the sequence restarts every year: its period is the document's year, otherwise the period
is ``""`` and the sequence never restarts.
"""

from __future__ import annotations

import datetime as dt
import re

_TOKEN = re.compile(r"\{([^{}]*)\}")
_SEQUENCE = re.compile(r"n+")
_YEAR_TOKENS = frozenset({"yyyy", "yy"})


def format_problem(number_format: str) -> str | None:
    """Why a number format cannot be used, or None if it is fine."""
    tokens = _TOKEN.findall(number_format)
    unknown = [t for t in tokens if t not in _YEAR_TOKENS and not _SEQUENCE.fullmatch(t)]
    if unknown:
        return f"unknown token {{{unknown[0]}}}; use {{yyyy}}, {{yy}} and {{nnnnn}}"
    if sum(1 for t in tokens if _SEQUENCE.fullmatch(t)) != 1:
        return "must contain exactly one sequence token such as {nnnnn}"
    return None


def sequence_period(number_format: str, date: dt.date) -> str:
    """The sequence partition: the year when the format shows it, else one endless sequence."""
    has_year = any(token in _YEAR_TOKENS for token in _TOKEN.findall(number_format))
    return f"{date.year:04d}" if has_year else ""


def render_number(number_format: str, date: dt.date, value: int) -> str:
    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "yyyy":
            return f"{date.year:04d}"
        if name == "yy":
            return f"{date.year % 100:02d}"
        return str(value).zfill(len(name))

    return _TOKEN.sub(token, number_format)
