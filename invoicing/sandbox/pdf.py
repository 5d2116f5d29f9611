"""The PDF of a document: ``GET /invoices/{id}/pdf`` and ``GET /credit-notes/{id}/pdf``.

Drawn with fpdf2 (pure Python) on A4: a header bar in the entity's ``primary_color`` with the
seller's name in black or white, whichever reads on that colour (WCAG AA, ``render.text_color_on``),
and the entity's logo at its right when it has one; the seller's address and tax number, the
title and number, dates, the document's ``reference`` (the marketplace's order reference), the
customer, the lines (quantity, unit price, discount, tax rates, net total), the tax summary by
rate, the totals (and paid / due once something is paid), the payment terms with the entity's
bank account (``settings.bank_accounts``), the note and the entity's ``document_footer`` at the
bottom of the page. Amounts and dates are formatted for the entity's locale with babel.
A voided document carries a "VOID" mark, a draft says so in its title, and a preview
(``POST /invoices/render``) is titled "Preview" with the number it would get.

Text uses DejaVu Sans when the system has it (Debian's fonts-dejavu-core, present on this
machine) so every character prints; otherwise the built-in Helvetica, which only covers Latin-1,
and characters outside it lose their accents (Č -> C) or become ``?``. The document's creation
time is the PDF's creation date, so the same document always renders to the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF

from invoicing.sandbox.render import DEFAULT_COLOR, text_color_on

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}
_MUTED = (100, 116, 139)
_TEXT = (30, 41, 59)
_COLUMNS = (
    ("Item", 74, "L"),
    ("Qty", 18, "R"),
    ("Price", 26, "R"),
    ("Discount", 22, "R"),
    ("Tax", 18, "R"),
    ("Total", 32, "R"),
)


def _font_dir() -> Path | None:
    for folder in _FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


def _rgb(color: str) -> tuple[int, int, int]:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class _Document(FPDF):
    def __init__(self, footer_text: str | None, font: str, latin1_only: bool) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.font_name = font
        self.latin1_only = latin1_only

    def text_of(self, value: str) -> str:
        if not self.latin1_only:
            return value
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c)
        )
        return plain.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        if not self.footer_text:
            return
        self.set_y(-18)
        self.set_font(self.font_name, size=8)
        self.set_text_color(*_MUTED)
        self.multi_cell(0, 4, self.text_of(self.footer_text), align="C")


def document_pdf(
    document: Mapping[str, Any],
    document_type: str,
    entity: Mapping[str, Any],
    *,
    logo: bytes | None = None,
    preview: bool = False,
) -> bytes:
    locale = Locale.parse((entity.get("locale") or "en").replace("-", "_"))
    currency = document["currency_code"]
    settings = entity.get("settings", {})
    brand_color = settings.get("primary_color") or DEFAULT_COLOR
    brand = _rgb(brand_color)
    on_brand = _rgb(text_color_on(brand_color))
    font_dir = _font_dir()
    pdf = _Document(
        settings.get("document_footer"),
        "DejaVu" if font_dir else "helvetica",
        latin1_only=font_dir is None,
    )
    if font_dir is not None:
        pdf.add_font("DejaVu", "", str(font_dir / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(font_dir / "DejaVuSans-Bold.ttf"))
    created = dt.datetime.fromisoformat(document["created_at"].replace("Z", "+00:00"))
    pdf.set_creation_date(created)
    pdf.set_auto_page_break(auto=True, margin=24)
    issuer = document["issuer"]
    title = _TITLES[document_type]
    heading = f"{title} {document['number']}" if document["number"] else f"Draft {title.lower()}"
    if preview:
        heading = f"Preview: {heading}"
    pdf.set_title(pdf.text_of(f"{heading} - {issuer['name']}"))
    pdf.set_author(pdf.text_of(issuer["name"]))
    pdf.add_page()

    def money(amount: Decimal | int) -> str:
        return pdf.text_of(format_currency(amount, currency, locale=locale))

    def number(value: Decimal | int) -> str:
        return pdf.text_of(format_decimal(value, locale=locale))

    def date(value: str) -> str:
        return format_date(dt.date.fromisoformat(value), format="medium", locale=locale)

    def font(size: float, bold: bool = False, color: tuple[int, int, int] = _TEXT) -> None:
        pdf.set_font(pdf.font_name, "B" if bold else "", size)
        pdf.set_text_color(*color)

    # Header bar with the seller's name.
    pdf.set_fill_color(*brand)
    pdf.rect(0, 0, pdf.w, 28, style="F")
    if logo is not None:
        pdf.image(
            io.BytesIO(logo), x=pdf.w - pdf.r_margin - 40, y=4, w=40, h=20, keep_aspect_ratio=True
        )
    pdf.set_xy(pdf.l_margin, 9)
    font(18, bold=True, color=on_brand)
    pdf.cell(pdf.w - pdf.l_margin - pdf.r_margin - 44, 10, pdf.text_of(issuer["name"]))
    pdf.set_xy(pdf.l_margin, 36)

    font(16, bold=True, color=brand)
    pdf.cell(0, 9, pdf.text_of(heading), new_x="LMARGIN", new_y="NEXT")
    if document.get("voided_at"):
        font(12, bold=True, color=(185, 28, 28))
        pdf.cell(
            0,
            7,
            f"VOID ({pdf.text_of(document.get('void_reason') or '')})",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    font(9, color=_MUTED)
    pdf.cell(
        0,
        6,
        pdf.text_of(
            f"Date {date(document['date'])}   Due {date(document['date_due'])}"
            f"   Service date {date(document['date_service'])}"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if document.get("reference"):
        pdf.cell(
            0, 6, pdf.text_of(f"Reference {document['reference']}"), new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(3)

    # Parties side by side.
    top = pdf.get_y()
    for x, label, party in (
        (pdf.l_margin, "From", issuer),
        (pdf.l_margin + 95, "Bill to", document["customer"] or {}),
    ):
        pdf.set_xy(x, top)
        font(10, bold=True, color=brand)
        pdf.cell(90, 6, label, new_x="LEFT", new_y="NEXT")
        font(10)
        for line in _party_lines(party):
            pdf.cell(90, 5, pdf.text_of(line), new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + 36))
    pdf.ln(4)

    # Lines.
    font(9, bold=True, color=brand)
    for label, width, align in _COLUMNS:
        pdf.cell(width, 7, label, border="B", align=align)
    pdf.ln()
    font(9)
    for item in document["items"]:
        name = item["name"] + (f" - {item['description']}" if item.get("description") else "")
        if item.get("type") == "separator":  # a heading across the table
            font(9, bold=True)
            pdf.cell(0, 7, pdf.text_of(name)[:100], border="B", new_x="LMARGIN", new_y="NEXT")
            font(9)
            continue
        quantity = f"{number(item['quantity'])} {item.get('unit') or ''}".strip()
        rates = ", ".join(f"{number(t['rate'])} %" for t in item["taxes"]) or "-"
        values = (
            name,
            quantity,
            money(item["price"]),
            money(item["total_discount"]),
            rates,
            money(item["total"]),
        )
        for (_, width, align), value in zip(_COLUMNS, values, strict=True):
            pdf.cell(width, 7, pdf.text_of(value)[:48], border="B", align=align)
        pdf.ln()
    pdf.ln(5)

    # Tax summary by rate.
    font(10, bold=True, color=brand)
    pdf.cell(0, 6, "Tax summary", new_x="LMARGIN", new_y="NEXT")
    font(9, bold=True)
    for label, width in (("Rate", 60), ("Base", 40), ("Tax", 40)):
        pdf.cell(width, 6, label, border="B", align="L" if label == "Rate" else "R")
    pdf.ln()
    font(9)
    for tax in document["taxes"]:
        rate = f"{number(tax['rate'])} %" + (" (reverse charge)" if tax["reverse_charge"] else "")
        pdf.cell(60, 6, rate, border="B")
        pdf.cell(40, 6, money(tax["base"]), border="B", align="R")
        pdf.cell(40, 6, money(tax["amount"]), border="B", align="R")
        pdf.ln()
    pdf.ln(5)

    # Totals, right aligned.
    tax_total = sum((Decimal(tax["amount"]) for tax in document["taxes"]), Decimal(0))
    totals: list[tuple[str, str, bool]] = [
        ("Total without tax", money(document["total"]), False),
        ("Tax", money(tax_total), False),
        ("Total", money(document["total_with_tax"]), True),
    ]
    if document["total_paid"]:
        totals += [
            ("Paid", money(document["total_paid"]), False),
            ("Due", money(document["total_due"]), True),
        ]
    for label, value, strong in totals:
        pdf.set_x(pdf.w - pdf.r_margin - 90)
        font(11 if strong else 10, bold=strong, color=brand if strong else _TEXT)
        pdf.cell(50, 7, label)
        pdf.cell(40, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    bank = next(iter(settings.get("bank_accounts") or []), None)
    payment_lines = [document.get("payment_terms")]
    if bank and bank.get("iban"):
        bic = f"  BIC {bank['bic']}" if bank.get("bic") else ""
        payment_lines.append(f"Pay to IBAN {bank['iban']}{bic}")
    for text in (*payment_lines, document.get("note")):
        if text:
            pdf.ln(3)
            font(9, color=_MUTED)
            pdf.multi_cell(0, 5, pdf.text_of(text))
    return bytes(pdf.output())


def _party_lines(party: Mapping[str, Any]) -> list[str]:
    place = " ".join(p for p in (party.get("post_code"), party.get("city")) if p)
    lines = [
        party.get("name"),
        party.get("address"),
        party.get("address_2"),
        place,
        party.get("country"),
        f"Tax number: {party['tax_number']}" if party.get("tax_number") else None,
    ]
    return [line for line in lines if line]
