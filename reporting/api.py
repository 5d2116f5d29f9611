"""CSV exports and export jobs over the API: operators across sellers, seller users for their own.

A seller user's seller always comes from its membership, never from the request: the seller
endpoints refuse a `seller` parameter like any other unknown one.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.audit import audit_record
from core.errors import ApplicationError
from core.parsers import JSONParser
from core.permissions import operator_permission
from reporting import services
from reporting.exports import DOCUMENTS, EXPORTS, INVOICES, LINES, STATEMENT, VAT, CsvExport
from reporting.filters import PARAMETERS, SELLER_PARAMETERS, export_filters_parse
from reporting.models import ExportJob, ExportStatus
from reporting.selectors import export_jobs_for_operator, export_jobs_for_seller
from reporting.views import csv_response
from sellers.models import Seller
from sellers.permissions import IsSellerMember
from sellers.selectors import seller_for_user

_View = TypeVar("_View", bound=Callable[..., Any])
# Documents of every seller: operators holding this permission only.
_CAN_EXPORT = operator_permission("reporting.export_reports")


class _JsonErrorsNegotiation(DefaultContentNegotiation):
    """The download is always CSV and errors are always JSON, whatever `Accept` asks for.

    DRF's default negotiation would answer 406 to an `Accept: text/csv` client.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _member_seller(request: Request) -> Seller:
    seller = seller_for_user(request.user)
    assert seller is not None  # IsSellerMember let the request in
    return seller


def _single_params(request: Request) -> dict[str, str]:
    """The query parameters, each given at most once (a repeated filter is ambiguous)."""
    for name, values in request.query_params.lists():
        if len(values) > 1:
            raise ApplicationError(f"Give {name[:40]} once.", field=name[:40])
    return request.query_params.dict()


_ErrorSerializer = inline_serializer(
    name="ReportError",
    fields={
        "detail": serializers.CharField(),
        "field": serializers.CharField(allow_null=True),
        "code": serializers.CharField(),
    },
)
_FILTER_PARAMETERS = {
    "seller": OpenApiParameter("seller", OpenApiTypes.INT, description="Only this seller's id."),
    "date_from": OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description="Document date from (inclusive)."
    ),
    "date_to": OpenApiParameter(
        "date_to", OpenApiTypes.DATE, description="Document date to (inclusive)."
    ),
    "seller_country": OpenApiParameter(
        "seller_country", OpenApiTypes.STR, description="ISO 3166-1 alpha-2."
    ),
    "buyer_country": OpenApiParameter(
        "buyer_country", OpenApiTypes.STR, description="ISO 3166-1 alpha-2."
    ),
    "currency": OpenApiParameter("currency", OpenApiTypes.STR, description="ISO 4217."),
    "kind": OpenApiParameter("kind", OpenApiTypes.STR, enum=["invoice", "credit_note"]),
}


def _csv_schema(export: CsvExport, *, seller_scoped: bool) -> Callable[[_View], _View]:
    names = SELLER_PARAMETERS if seller_scoped else PARAMETERS
    who = "The requesting seller user's own documents." if seller_scoped else "Operators only."
    period = (
        " date_from and date_to are required and span at most 366 days."
        if export.requires_period
        else ""
    )
    return extend_schema(
        operation_id=f"reports_{'seller_' if seller_scoped else ''}{export.name}_csv",
        summary=f"Export {export.name} as CSV",
        description=(
            f"Columns (version {export.version}, also in the `X-Export-Version` header): "
            f"{', '.join(export.columns)}. {who}{period} See reporting/README.md."
        ),
        parameters=[_FILTER_PARAMETERS[name] for name in names],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The CSV file, UTF-8, CRLF lines."
            ),
            400: OpenApiResponse(
                response=_ErrorSerializer, description="A bad filter; `field` names it."
            ),
        },
    )


class _OperatorCsvApi(APIView):
    permission_classes = [_CAN_EXPORT]
    throttle_scope = "export"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrorsNegotiation
    export: CsvExport

    def get(self, request: Request) -> StreamingHttpResponse:
        filters = export_filters_parse(_single_params(request), self.export)
        return csv_response(self.export, filters, actor=request.user)


class _SellerCsvApi(APIView):
    permission_classes = [IsSellerMember]
    throttle_scope = "export"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrorsNegotiation
    export: CsvExport

    def get(self, request: Request) -> StreamingHttpResponse:
        seller = _member_seller(request)
        filters = export_filters_parse(_single_params(request), self.export, seller_id=seller.pk)
        return csv_response(self.export, filters, actor=request.user)


class InvoiceExportApi(_OperatorCsvApi):
    export = INVOICES

    @_csv_schema(INVOICES, seller_scoped=False)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class DocumentExportApi(_OperatorCsvApi):
    export = DOCUMENTS

    @_csv_schema(DOCUMENTS, seller_scoped=False)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class LineExportApi(_OperatorCsvApi):
    export = LINES

    @_csv_schema(LINES, seller_scoped=False)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class VatExportApi(_OperatorCsvApi):
    export = VAT

    @_csv_schema(VAT, seller_scoped=False)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class StatementExportApi(_OperatorCsvApi):
    export = STATEMENT

    @_csv_schema(STATEMENT, seller_scoped=False)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class SellerDocumentExportApi(_SellerCsvApi):
    export = DOCUMENTS

    @_csv_schema(DOCUMENTS, seller_scoped=True)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class SellerLineExportApi(_SellerCsvApi):
    export = LINES

    @_csv_schema(LINES, seller_scoped=True)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class SellerVatExportApi(_SellerCsvApi):
    export = VAT

    @_csv_schema(VAT, seller_scoped=True)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


class SellerStatementExportApi(_SellerCsvApi):
    export = STATEMENT

    @_csv_schema(STATEMENT, seller_scoped=True)
    def get(self, request: Request) -> StreamingHttpResponse:
        return super().get(request)


# Background export jobs.


class ExportJobOutput(serializers.ModelSerializer[ExportJob]):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "report",
            "status",
            "filters",
            "row_count",
            "error",
            "created_at",
            "finished_at",
            "download_url",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportStatus.DONE:
            return None
        return reverse(self.context["download_view"], kwargs={"pk": job.pk})


def _job_request_params(request: Request) -> tuple[CsvExport, dict[str, Any]]:
    if not isinstance(request.data, dict):
        raise ApplicationError("Send a JSON object.", field=None)
    params = dict(request.data)
    report = params.pop("report", None)
    if not isinstance(report, str) or report not in EXPORTS:
        raise ApplicationError(
            f"Enter one of {', '.join(EXPORTS)}, not {str(report)[:40]!r}.", field="report"
        )
    return EXPORTS[report], params


def _job_scope(
    request: Request, *, seller_scoped: bool
) -> tuple[QuerySet[ExportJob], Seller | None]:
    """The jobs this user may see, and the seller its new jobs are confined to."""
    if seller_scoped:
        seller = _member_seller(request)
        return export_jobs_for_seller(seller=seller), seller
    assert isinstance(request.user, User)  # the operator permission let the request in
    return export_jobs_for_operator(user=request.user), None


def _job_output(job: ExportJob, *, seller_scoped: bool) -> dict[str, Any]:
    view = "report-seller-export-job-download" if seller_scoped else "report-export-job-download"
    return ExportJobOutput(job, context={"download_view": view}).data


class _ExportJobCreate(APIView):
    """Queue an export (201); a worker writes the CSV, poll the job for its download link."""

    seller_scoped = False
    throttle_scope = "export"
    # The filters are text fields of one JSON object; a form would give each as a list.
    parser_classes = [JSONParser]

    def post(self, request: Request) -> Response:
        export, params = _job_request_params(request)
        _, seller = _job_scope(request, seller_scoped=self.seller_scoped)
        assert isinstance(request.user, User)
        filters = export_filters_parse(
            params, export, seller_id=seller.pk if seller is not None else None
        )
        job = services.export_job_request(
            report=export.name, filters=filters, requested_by=request.user, seller=seller
        )
        job.refresh_from_db()
        return Response(
            _job_output(job, seller_scoped=self.seller_scoped), status=status.HTTP_201_CREATED
        )


class _ExportJobDetail(APIView):
    seller_scoped = False

    def get(self, request: Request, pk: int) -> Response:
        jobs, _ = _job_scope(request, seller_scoped=self.seller_scoped)
        job = jobs.filter(pk=pk).first()
        if job is None:
            raise NotFound("No such export job.")
        return Response(_job_output(job, seller_scoped=self.seller_scoped))


class _ExportJobDownload(APIView):
    seller_scoped = False

    def get(self, request: Request, pk: int) -> FileResponse:
        jobs, _ = _job_scope(request, seller_scoped=self.seller_scoped)
        job = jobs.filter(pk=pk, status=ExportStatus.DONE).first()
        if job is None:
            raise NotFound("No finished export job with this id.")
        response = FileResponse(
            (Path(settings.MEDIA_ROOT) / job.file).open("rb"),  # closed by the response
            as_attachment=True,
            filename=Path(job.file).name,
            content_type="text/csv; charset=utf-8",
        )
        response["X-Export-Version"] = str(EXPORTS[job.report].version)
        audit_record(
            action="export.downloaded",
            actor=request.user,
            seller_id=job.filters.get("seller"),
            detail={"report": job.report, "job_id": job.pk},
        )
        return response


def _job_create_schema(*, seller_scoped: bool) -> Callable[[_View], _View]:
    names = SELLER_PARAMETERS if seller_scoped else PARAMETERS
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "report": serializers.ChoiceField(choices=list(EXPORTS)),
        **{
            name: serializers.CharField(
                required=False,
                allow_blank=True,
                help_text=str(_FILTER_PARAMETERS[name].description),
            )
            for name in names
        },
    }
    request = inline_serializer(
        name=f"{'Seller' if seller_scoped else ''}ExportJobRequest", fields=fields
    )
    return extend_schema_view(
        post=extend_schema(
            request=request,
            responses={201: ExportJobOutput},
        )
    )


_job_detail_schema = extend_schema_view(get=extend_schema(responses=ExportJobOutput))
_job_download_schema = extend_schema_view(
    get=extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The CSV file; its columns' version is in `X-Export-Version`.",
            )
        }
    )
)


@_job_create_schema(seller_scoped=False)
class ExportJobCreateApi(_ExportJobCreate):
    permission_classes = [_CAN_EXPORT]


@_job_detail_schema
class ExportJobDetailApi(_ExportJobDetail):
    permission_classes = [_CAN_EXPORT]


@_job_download_schema
class ExportJobDownloadApi(_ExportJobDownload):
    permission_classes = [_CAN_EXPORT]


@_job_create_schema(seller_scoped=True)
class SellerExportJobCreateApi(_ExportJobCreate):
    permission_classes = [IsSellerMember]
    seller_scoped = True


@_job_detail_schema
class SellerExportJobDetailApi(_ExportJobDetail):
    permission_classes = [IsSellerMember]
    seller_scoped = True


@_job_download_schema
class SellerExportJobDownloadApi(_ExportJobDownload):
    permission_classes = [IsSellerMember]
    seller_scoped = True
