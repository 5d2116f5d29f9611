"""The embedded dashboard, ``GET /embed/dashboard?entityId=ent_...&key=ek_...``.

It stands in for the page Space Invoices' embed SDK opens with a short-lived entity key: the
entity's invoices and credit notes, newest first, with number, date, type and total. The key
rides in the query string so that a plain link or an iframe's ``src`` opens the page; the
sandbox server logs paths without query strings, and the answer tells browsers neither to
cache it nor to pass its address on as a referrer. A missing, unknown or expired key, an
account key, or a key of another entity is 401 with a short HTML message.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import escape
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from werkzeug.wrappers import Request, Response

from invoicing.sandbox.errors import ApiError
from invoicing.sandbox.store import Store

# The entity an entity key reaches now; raises a 401 ApiError for any other key.
KeyEntity = Callable[[str], str]

_TYPES = {"invoice": "Invoice", "credit_note": "Credit note"}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1e293b; }
header { background: #334155; color: #fff; padding: 1rem 2rem; }
h1 { margin: 0; font-size: 1.4rem; }
main { padding: 1.5rem 2rem; max-width: 60rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e2e8f0; }
.num { text-align: right; white-space: nowrap; }
"""


def dashboard_response(request: Request, store: Store, key_entity: KeyEntity) -> Response:
    try:
        entity_id = key_entity(request.args.get("key", ""))
        if request.args.get("entityId") != entity_id:
            raise ApiError(401, "unauthorized", "This key does not open that entity.")
    except ApiError as error:
        return _html(401, "Not authorized", f"<p>{escape(error.message)}</p>")
    with store.read() as session:
        entity = session.entity_by_id(entity_id)
        assert entity is not None  # a live entity key's entity exists
        documents = [
            (row.seq, kind, row.body)
            for kind in _TYPES
            for row in session.document_list(entity_id, kind)
        ]
    documents.sort(key=lambda found: found[0], reverse=True)
    locale = Locale.parse((entity.get("locale") or "en").replace("-", "_"))
    rows = "".join(_row(kind, document, locale) for _, kind, document in documents)
    table = (
        "<table><thead><tr><th>Number</th><th>Date</th><th>Type</th>"
        f"<th class=num>Total</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No documents yet.</p>"
    )
    return _html(200, entity["name"], f"<h2>Documents</h2>{table}")


def _row(kind: str, document: dict[str, Any], locale: Locale) -> str:
    total = format_currency(
        Decimal(document["total_with_tax"]), document["currency_code"], locale=locale
    )
    return (
        f"<tr><td>{escape(document['number'] or 'Draft')}</td>"
        f"<td>{escape(document['date'])}</td><td>{_TYPES[kind]}</td>"
        f"<td class=num>{escape(total)}</td></tr>"
    )


def _html(status: int, title: str, body: str) -> Response:
    page = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(title)}</h1></header>\n<main>{body}</main>\n</body>\n</html>\n"
    )
    response = Response(page, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
