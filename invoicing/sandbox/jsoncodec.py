"""JSON in and out: decimals stay ``Decimal`` inside the sandbox and become JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        # Whole numbers without decimals (a quantity of 2) stay integers; amounts are already
        # quantized, so the shortest repr of their float is the same number (12.20 -> 12.2).
        # str() shows plain digits exactly when the exponent is 0, and is cheaper than as_tuple().
        text = str(value)
        return int(text) if text.lstrip("-").isdigit() else float(text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def loads(text: str | bytes) -> Any:
    """Parse JSON with floats as ``Decimal``; raises ``ValueError`` on malformed input."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def dumps(value: object) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def canonical(value: object) -> str:
    """A stable text of a JSON value (sorted keys), for fingerprints and cursors."""
    return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"))
