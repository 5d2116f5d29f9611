"""The invoice CSV export for operators, over the API."""

from collections.abc import Iterable

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from reporting.exports import INVOICE_EXPORT_COLUMNS, INVOICE_EXPORT_VERSION
from reporting.filters import invoice_export_filters_parse
from reporting.views import invoice_csv_response


class _JsonErrorsNegotiation(DefaultContentNegotiation):
    """The download is always CSV and errors are always JSON, whatever `Accept` asks for.

    DRF's default negotiation would answer 406 to an `Accept: text/csv` client.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


_ErrorSerializer = inline_serializer(
    name="InvoiceExportError",
    fields={
        "detail": serializers.CharField(),
        "field": serializers.CharField(allow_null=True),
        "code": serializers.CharField(),
    },
)


class InvoiceExportApi(APIView):
    permission_classes = [IsAdminUser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrorsNegotiation

    @extend_schema(
        operation_id="reports_invoices_csv",
        summary="Export issued invoices across sellers as CSV",
        description=(
            f"Streams issued invoices (credit notes, pending and failed documents excluded), "
            f"ordered by invoice date, seller and number. Columns (version "
            f"{INVOICE_EXPORT_VERSION}, also in the `X-Export-Version` header): "
            f"{', '.join(INVOICE_EXPORT_COLUMNS)}. Operators only."
        ),
        parameters=[
            OpenApiParameter("seller", OpenApiTypes.INT, description="Only this seller's id."),
            OpenApiParameter(
                "date_from", OpenApiTypes.DATE, description="Invoice date from (inclusive)."
            ),
            OpenApiParameter(
                "date_to", OpenApiTypes.DATE, description="Invoice date to (inclusive)."
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The CSV file, UTF-8, CRLF lines."
            ),
            400: OpenApiResponse(
                response=_ErrorSerializer, description="A bad filter; `field` names it."
            ),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = invoice_export_filters_parse(
            seller=request.query_params.get("seller"),
            date_from=request.query_params.get("date_from"),
            date_to=request.query_params.get("date_to"),
        )
        return invoice_csv_response(filters)
