"""The public HTML page of a document (``GET /share/{shareable_id}``).

Shows the issuer (name, address, tax number) in the entity's ``primary_color`` (header bar and
headings), the number and dates, the customer, the lines, the tax summary by rate, the totals and
the entity's ``document_footer``. Amounts and dates are formatted for the entity's locale. Every
value is HTML-escaped; the colour is a validated hex code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from html import escape
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

DEFAULT_COLOR = "#334155"


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of a #RGB or #RRGGBB colour."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def text_color_on(background: str) -> str:
    """Black or white text on the entity's colour, whichever contrasts more (WCAG 2: one of
    them always reaches 4.5:1, the AA level for text)."""
    luminance = _luminance(background)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return "#FFFFFF" if on_white >= on_black else "#000000"


_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1e293b; }
header { background: var(--brand); color: var(--on-brand); padding: 1.25rem 2rem; }
header h1 { margin: 0; font-size: 1.5rem; }
main { padding: 1.5rem 2rem; max-width: 60rem; }
h2, h3 { color: var(--brand); }
.parties { display: flex; gap: 4rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e2e8f0; }
th { border-bottom: 2px solid var(--brand); }
.num { text-align: right; white-space: nowrap; }
.totals { width: auto; margin-left: auto; }
.totals tr.grand td { font-weight: bold; border-top: 2px solid var(--brand); }
footer { padding: 1rem 2rem; color: #64748b; border-top: 1px solid #e2e8f0; }
"""


def share_page(document: Mapping[str, Any], document_type: str, entity: Mapping[str, Any]) -> str:
    locale = Locale.parse((entity.get("locale") or "en").replace("-", "_"))
    currency = document["currency_code"]

    def money(amount: Decimal | int) -> str:
        return escape(format_currency(amount, currency, locale=locale))

    def number(value: Decimal | int) -> str:
        return escape(format_decimal(value, locale=locale))

    def date(value: str) -> str:
        return escape(format_date(dt.date.fromisoformat(value), format="medium", locale=locale))

    settings = entity.get("settings", {})
    color = escape(settings.get("primary_color") or DEFAULT_COLOR)
    issuer = document["issuer"]
    title = _TITLES[document_type]
    heading = f"{title} {document['number']}" if document["number"] else f"Draft {title.lower()}"

    lines = "".join(
        # A separator line is a heading across the table.
        f"<tr><th colspan=6>{escape(item['name'])}{_small(item.get('description'))}</th></tr>"
        if item.get("type") == "separator"
        else "<tr>"
        f"<td>{escape(item['name'])}{_small(item.get('description'))}</td>"
        f"<td class=num>{number(item['quantity'])} {escape(item.get('unit') or '')}</td>"
        f"<td class=num>{money(item['price'])}</td>"
        f"<td class=num>{money(item['total_discount'])}</td>"
        f"<td class=num>{', '.join(number(t['rate']) + ' %' for t in item['taxes'])}</td>"
        f"<td class=num>{money(item['total'])}</td>"
        "</tr>"
        for item in document["items"]
    )
    taxes = "".join(
        "<tr>"
        f"<td>{number(tax['rate'])} %{' (reverse charge)' if tax['reverse_charge'] else ''}</td>"
        f"<td class=num>{money(tax['base'])}</td>"
        f"<td class=num>{money(tax['amount'])}</td>"
        "</tr>"
        for tax in document["taxes"]
    )
    tax_total = sum((Decimal(tax["amount"]) for tax in document["taxes"]), Decimal(0))
    totals = [
        ("Total without tax", money(document["total"])),
        ("Tax", money(tax_total)),
        ("Total", money(document["total_with_tax"])),
    ]
    if document["total_paid"]:
        totals += [("Paid", money(document["total_paid"])), ("Due", money(document["total_due"]))]
    totals_rows = "".join(
        f"<tr{' class=grand' if label == 'Total' else ''}><td>{label}</td>"
        f"<td class=num>{value}</td></tr>"
        for label, value in totals
    )
    footer = settings.get("document_footer")

    return f"""<!doctype html>
<html lang="{escape(locale.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(heading)} · {escape(issuer["name"])}</title>
<style>:root {{ --brand: {color}; --on-brand: {text_color_on(color)}; }}{_STYLE}</style>
</head>
<body>
<header><h1>{escape(issuer["name"])}</h1></header>
<main>
<h2>{escape(heading)}</h2>
<p>Date: {date(document["date"])} · Due: {date(document["date_due"])}
 · Service date: {date(document["date_service"])}</p>
<section class="parties">
<div><h3>From</h3>{_party(issuer)}</div>
<div><h3>Bill to</h3>{_party(document["customer"] or {})}</div>
</section>
<table>
<thead><tr><th>Item</th><th class=num>Quantity</th><th class=num>Price</th>
<th class=num>Discount</th><th class=num>Tax</th><th class=num>Total</th></tr></thead>
<tbody>{lines}</tbody>
</table>
<h3>Tax summary</h3>
<table>
<thead><tr><th>Rate</th><th class=num>Base</th><th class=num>Tax</th></tr></thead>
<tbody>{taxes}</tbody>
</table>
<table class="totals"><tbody>{totals_rows}</tbody></table>
{_paragraph(document.get("note"))}
</main>
{f"<footer>{escape(footer)}</footer>" if footer else ""}
</body>
</html>
"""


def _party(party: Mapping[str, Any]) -> str:
    place = " ".join(p for p in (party.get("post_code"), party.get("city")) if p)
    lines: Iterable[str | None] = (
        party.get("name"),
        party.get("address"),
        party.get("address_2"),
        place,
        party.get("country"),
        f"Tax number: {party['tax_number']}" if party.get("tax_number") else None,
    )
    return "<p>" + "<br>".join(escape(line) for line in lines if line) + "</p>"


def _small(text: str | None) -> str:
    return f"<br><small>{escape(text)}</small>" if text else ""


def _paragraph(text: str | None) -> str:
    return f"<p>{escape(text)}</p>" if text else ""
