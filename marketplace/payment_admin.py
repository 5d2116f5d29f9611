"""Operators' payment pages in admin: the reconciliation of buyer charges, seller transfers,
commission and refunds (page and CSV, marketplace.payment_reconciliation)."""

import csv
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse

from marketplace.payment_reconciliation import CheckoutMoney, payment_mismatches

CSV_COLUMNS = [
    "checkout_ref",
    "currency",
    "charged",
    "orders_total",
    "charge_difference",
    "order_id",
    "seller",
    "order_total",
    "commission",
    "refunded",
    "transferred",
    "expected_transfer",
    "transfer_difference",
]


def _require_operator(request: HttpRequest) -> None:
    if not request.user.has_perm("marketplace.view_order"):
        raise PermissionDenied


def reconciliation_page(request: HttpRequest) -> HttpResponse:
    _require_operator(request)
    mismatches = list(payment_mismatches())
    context = {"title": "Payments reconciliation", "mismatches": mismatches}
    return TemplateResponse(request, "admin/marketplace/payment_reconciliation.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(mismatches: Iterator[CheckoutMoney]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for money in mismatches:
        for order in money.orders:
            yield writer.writerow(
                [
                    money.checkout_ref,
                    money.currency,
                    money.charged,
                    money.orders_total,
                    money.charge_difference,
                    order.order_id,
                    order.seller,
                    order.total,
                    order.commission,
                    order.refunded,
                    order.transferred,
                    order.expected_transfer,
                    order.difference,
                ]
            )


def reconciliation_csv(request: HttpRequest) -> StreamingHttpResponse:
    _require_operator(request)
    response = StreamingHttpResponse(_csv_rows(payment_mismatches()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="payment-mismatches.csv"'
    return response
