"""The payout statement as a PDF (fpdf2): the month's sales, refunds and commission documents,
then sales - refunds - commission = payout, each amount as payout_statements computed it."""

from datetime import UTC, date, datetime

from fpdf import FPDF

from invoicing.commission_invoices import PayoutStatement, document_net_and_vat
from invoicing.models import DocumentKind

_WIDTHS = (50, 40, 40, 40)


def payout_statement_pdf(statements: list[PayoutStatement], *, issuer: str) -> bytes:
    pdf = FPDF(format="A4")
    # Dated by the statement's month: the same statement renders to the same bytes.
    first = statements[0].period_start if statements else date(2000, 1, 1)
    pdf.set_creation_date(datetime(first.year, first.month, 1, tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=15)
    for statement in statements:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(
            0,
            10,
            _latin(f"Payout statement {statement.period_start:%Y-%m}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(
            0,
            6,
            _latin(f"{statement.seller.business_name} - from {issuer}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.cell(0, 6, f"Currency: {statement.currency}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        _row(pdf, ("Document", "Kind", "Order", "Amount"), bold=True)
        for entry in statement.entries:
            sign = 1 if entry.kind == DocumentKind.INVOICE else -1
            label = "sale" if sign == 1 else "refund"
            _row(pdf, (entry.number, label, f"#{entry.order_id}", f"{sign * entry.sale_gross}"))
        for document in statement.commission_documents:
            label = "commission" if document.kind == DocumentKind.INVOICE else "commission returned"
            net, vat = document_net_and_vat(document)
            sign = -1 if document.kind == DocumentKind.INVOICE else 1
            _row(pdf, (document.number or f"#{document.pk}", label, "", f"{sign * (net + vat)}"))
        pdf.ln(4)
        for label, amount in (
            ("Sales (gross)", statement.sales_gross),
            ("Refunds (gross)", -statement.refunds_gross),
            ("Commission (net)", -statement.commission_net),
            ("VAT on commission", -statement.commission_vat),
            ("Payout", statement.payout),
        ):
            _row(pdf, (label, "", "", f"{amount}"), bold=label == "Payout")
    return bytes(pdf.output())


def _row(pdf: FPDF, cells: tuple[str, ...], *, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 10)
    for width, text in zip(_WIDTHS, cells, strict=True):
        pdf.cell(width, 7, _latin(text), border="B", align="L" if width == 50 else "R")
    pdf.ln()


def _latin(text: str) -> str:
    """Helvetica covers Latin-1 only; other characters print as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")
