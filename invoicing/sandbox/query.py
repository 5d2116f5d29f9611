"""List parameters: filters (``query``), ordering, cursors and the page answer.

``query`` is URL-encoded JSON. Each key is a field path, dotted (``"metadata.order_id"``) or
nested (``{"metadata": {"order_id": ...}}``); its value is either an object of operators
(``equals, not, gt, gte, lt, lte, in, notIn, contains, startsWith, endsWith, between``) or a bare
value meaning ``equals``. An object with no operator keys is a nested path; one that mixes
operators and fields is rejected. Comparisons only match values of the same kind (numbers with
numbers, strings with strings; dates and times are ISO strings, so
``{"updated_at": {"gte": "2026-03-01T09:00:00.000Z"}}`` lists the documents created or changed
since then); a missing field is ``null``.

``order_by`` is a field path, ``-`` in front for descending; the default ``id`` is creation order.
Cursors are opaque: base64 of the boundary item's sort key, tied to the ``order_by`` they came
from. ``next_cursor`` continues after the page, ``prev_cursor`` goes back before it;
``has_more`` tells whether items follow the page; ``total`` counts the matching items unless
``include_total_count=false`` (then it is -1). Filtering and sorting happen in Python: this is a
sandbox.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicing.sandbox import jsoncodec
from invoicing.sandbox.errors import Issues
from invoicing.sandbox.store import Row

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

_ORDER_BY = re.compile(r"-?[A-Za-z_]\w*(?:\.\w+)*")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

SortKey = tuple[int, Any, int]


def _same(value: Any, operand: Any) -> bool:
    if isinstance(value, bool) or isinstance(operand, bool):
        return type(value) is type(operand) and value == operand
    return bool(value == operand)


def _compare(value: Any, operand: Any) -> int | None:
    """-1, 0 or 1 when both are numbers or both strings, else None."""
    numbers = all(
        isinstance(v, int | Decimal) and not isinstance(v, bool) for v in (value, operand)
    )
    if numbers or (isinstance(value, str) and isinstance(operand, str)):
        return int(value > operand) - int(value < operand)
    return None


def _compares(test: Callable[[int], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, operand: Any) -> bool:
        result = _compare(value, operand)
        return result is not None and test(result)

    return check


def _between(value: Any, operand: Any) -> bool:
    low, high = (_compare(value, bound) for bound in operand)
    return low is not None and high is not None and low >= 0 and high <= 0


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _same,
    "not": lambda value, operand: not _same(value, operand),
    "gt": _compares(lambda c: c > 0),
    "gte": _compares(lambda c: c >= 0),
    "lt": _compares(lambda c: c < 0),
    "lte": _compares(lambda c: c <= 0),
    "in": lambda value, operand: any(_same(value, o) for o in operand),
    "notIn": lambda value, operand: not any(_same(value, o) for o in operand),
    "contains": lambda value, operand: isinstance(value, str) and operand in value,
    "startsWith": lambda value, operand: isinstance(value, str) and value.startswith(operand),
    "endsWith": lambda value, operand: isinstance(value, str) and value.endswith(operand),
    "between": _between,
}


def resolve(record: Any, path: Sequence[str]) -> Any:
    """The value at a field path (list elements by index), or None if it is missing."""
    value = record
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    operator: str
    operand: Any

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _OPERATORS[self.operator](resolve(record, self.path), self.operand)


@dataclass(frozen=True)
class ListParams:
    limit: int
    conditions: tuple[Condition, ...]
    order_by: str
    after: SortKey | None
    before: SortKey | None
    include_total_count: bool

    @property
    def descending(self) -> bool:
        return self.order_by.startswith("-")

    def sort_key(self, row: Row) -> SortKey:
        field = self.order_by.lstrip("-")
        value = row.seq if field == "id" else resolve(row.body, field.split("."))
        return (*_ranked(value), row.seq)


def parse_list_params(args: Mapping[str, str]) -> ListParams:
    """Read ``limit, next_cursor, prev_cursor, include_total_count, order_by, query``."""
    issues = Issues()
    limit = DEFAULT_LIMIT
    if "limit" in args:
        raw = args["limit"]
        limit = int(raw) if raw.isdigit() else 0
        if not 1 <= limit <= MAX_LIMIT:
            issues.add(("limit",), f"must be a whole number from 1 to {MAX_LIMIT}")
    order_by = args.get("order_by") or "id"
    if not _ORDER_BY.fullmatch(order_by):
        issues.add(("order_by",), "must be a field path, with - in front for descending")
    include = args.get("include_total_count", "true").lower()
    if include not in _TRUE | _FALSE:
        issues.add(("include_total_count",), "must be true or false")
    after = _cursor(args, "next_cursor", order_by, issues)
    before = _cursor(args, "prev_cursor", order_by, issues)
    if after and before:
        issues.add(("prev_cursor",), "send next_cursor or prev_cursor, not both")
    conditions = _conditions(args["query"], issues) if args.get("query") else ()
    issues.raise_if_any()
    return ListParams(limit, conditions, order_by, after, before, include in _TRUE)


def list_page(rows: Sequence[Row], params: ListParams) -> dict[str, Any]:
    """The ``{"data": [...], "pagination": {...}}`` answer for the rows matching ``params``."""
    matching = [row for row in rows if all(c.matches(row.body) for c in params.conditions)]
    keyed = sorted(
        ((params.sort_key(row), row) for row in matching),
        key=lambda pair: pair[0],
        reverse=params.descending,
    )

    def ahead(key: SortKey, cursor: SortKey) -> bool:
        return key < cursor if params.descending else key > cursor

    if params.after is not None:
        start = sum(1 for key, _ in keyed if not ahead(key, params.after))
        end = start + params.limit
    elif params.before is not None:
        end = sum(1 for key, _ in keyed if ahead(params.before, key))
        start = max(0, end - params.limit)
    else:
        start, end = 0, params.limit
    page = keyed[start:end]
    has_more = start + len(page) < len(keyed)
    return {
        "data": [row.body for _, row in page],
        "pagination": {
            "total": len(matching) if params.include_total_count else -1,
            "next_cursor": _encode_cursor(params.order_by, page[-1][0]) if has_more else None,
            "prev_cursor": _encode_cursor(params.order_by, page[0][0]) if page and start else None,
            "has_more": has_more,
        },
    }


def _ranked(value: Any) -> tuple[int, Any]:
    """A sort position that orders values of mixed kinds: null, booleans, numbers, strings."""
    if value is None:
        return 0, 0
    if isinstance(value, bool):
        return 1, int(value)
    if isinstance(value, int | Decimal):
        return 2, value
    if isinstance(value, str):
        return 3, value
    return 4, jsoncodec.canonical(value)


def _encode_cursor(order_by: str, key: SortKey) -> str:
    rank, value, seq = key
    payload = {"o": order_by, "k": [rank, str(value) if rank == 2 else value, seq]}
    return base64.urlsafe_b64encode(jsoncodec.canonical(payload).encode()).decode().rstrip("=")


def _cursor(args: Mapping[str, str], name: str, order_by: str, issues: Issues) -> SortKey | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        payload = jsoncodec.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        cursor_order = payload["o"]
        key = _decode_key(*payload["k"])
    except (ValueError, TypeError, KeyError, ArithmeticError, binascii.Error):
        issues.add((name,), "is not a cursor from this API")
        return None
    if cursor_order != order_by:
        issues.add((name,), f"was made for order_by={cursor_order}; send the same order_by")
        return None
    return key


_KEY_TYPES: dict[int, type] = {0: int, 1: int, 2: Decimal, 3: str, 4: str}


def _decode_key(rank: int, value: Any, seq: int) -> SortKey:
    """The inverse of ``_encode_cursor``; ``ValueError`` for anything it could not have made."""
    if rank == 2:
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError("not a finite number")
    if type(value) is not _KEY_TYPES[rank] or type(seq) is not int:
        raise ValueError("not a sort key")
    return rank, value, seq


def _conditions(raw: str, issues: Issues) -> tuple[Condition, ...]:
    try:
        query = jsoncodec.loads(raw)
    except ValueError:
        issues.add(("query",), "must be URL-encoded JSON")
        return ()
    if not isinstance(query, dict):
        issues.add(("query",), "must be a JSON object of field filters")
        return ()
    conditions: list[Condition] = []
    _collect(query, (), conditions, issues)
    return tuple(conditions)


def _collect(
    filters: Mapping[str, Any], prefix: tuple[str, ...], out: list[Condition], issues: Issues
) -> None:
    for field, spec in filters.items():
        path = (*prefix, *field.split("."))
        where = ("query", ".".join(path))
        if not all(path):
            issues.add(where, "is not a field path")
        elif not isinstance(spec, dict):
            out.append(Condition(path, "equals", spec))
        elif not spec:
            issues.add(where, "needs an operator such as equals")
        elif all(key in _OPERATORS for key in spec):
            for operator, operand in spec.items():
                if problem := _operand_problem(operator, operand):
                    issues.add((*where, operator), problem)
                else:
                    out.append(Condition(path, operator, operand))
        elif any(key in _OPERATORS for key in spec):
            issues.add(where, "mixes operators and fields")
        else:
            _collect(spec, path, out, issues)


def _operand_problem(operator: str, operand: Any) -> str | None:
    comparable = (int, Decimal, str)
    if operator in ("in", "notIn") and not isinstance(operand, list):
        return "must be a list"
    if operator in ("contains", "startsWith", "endsWith") and not isinstance(operand, str):
        return "must be a string"
    if operator in ("gt", "gte", "lt", "lte") and (
        isinstance(operand, bool) or not isinstance(operand, comparable)
    ):
        return "must be a number or a string"
    if operator == "between" and not (
        isinstance(operand, list)
        and len(operand) == 2
        and all(_compare(bound, bound) is not None for bound in operand)
    ):
        return "must be a list of two numbers or two strings"
    return None
