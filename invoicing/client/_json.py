"""JSON with exact decimals: Decimal goes out as a JSON number; every number comes back as one."""

import json
from collections.abc import Mapping
from decimal import Decimal

from invoicing.client.wire import Request


def dumps(value: object) -> str:
    """Compact JSON; a ``Decimal`` is written as its own digits, a float is refused; a wire
    request is written as its body."""
    if isinstance(value, Request):
        return dumps(value.body())
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a JSON number")
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not sent to Space Invoices; use Decimal")
    if isinstance(value, Mapping):
        members = (f"{json.dumps(str(key))}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def loads(content: bytes) -> object:
    """Parse JSON; every number becomes a ``Decimal``. Raises ``ValueError`` on anything else."""
    return json.loads(
        content, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
    )
