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
from core.openapi import AutoSchema
from core.parsers import JSONParser
from core.permissions import operator_permission
from reporting import services
from reporting.exports import EXPORTS, CsvExport
from reporting.filters import (
    ExportParametersInput,
    SellerExportParametersInput,
    export_parameters_parse,
)
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


_ErrorSerializer = inline_serializer(
    name="ReportError",
    fields={
        "detail": serializers.CharField(),
        "field": serializers.CharField(allow_null=True),
        "code": serializers.CharField(),
    },
)


class _CsvExportSchema(AutoSchema):
    """Each route's own operation: its export's id, columns, filters and CSV answer."""

    def _export(self) -> tuple[CsvExport, bool]:
        view = self.view
        assert isinstance(view, _CsvExportApi)
        assert view.export is not None  # every route names its export
        return view.export, view.seller_scoped

    def get_operation_id(self) -> str:
        export, seller_scoped = self._export()
        return f"reports_{'seller_' if seller_scoped else ''}{export.name}_csv"

    def get_summary(self) -> str:
        export, _ = self._export()
        return f"Export {export.name} as CSV"

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature
        export, seller_scoped = self._export()
        who = "The requesting seller user's own documents." if seller_scoped else "Operators only."
        period = (
            " date_from and date_to are required and span at most 366 days."
            if export.requires_period
            else ""
        )
        return (
            f"Columns (version {export.version}, also in the `X-Export-Version` header): "
            f"{', '.join(export.columns)}. {who}{period} See reporting/README.md."
        )

    def get_override_parameters(self) -> list[Any]:
        _, seller_scoped = self._export()
        return [SellerExportParametersInput if seller_scoped else ExportParametersInput]

    def get_response_serializers(self) -> Any:
        return {
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The CSV file, UTF-8, CRLF lines."
            ),
            400: OpenApiResponse(
                response=_ErrorSerializer, description="A bad filter; `field` names it."
            ),
        }


class _CsvExportApi(APIView):
    """One CSV export, named by its route: `as_view(export=DOCUMENTS)`."""

    throttle_scope = "export"
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonErrorsNegotiation
    schema = _CsvExportSchema()
    export: CsvExport | None = None
    seller_scoped = False

    def get(self, request: Request) -> StreamingHttpResponse:
        assert self.export is not None  # every route names its export
        seller_id = _member_seller(request).pk if self.seller_scoped else None
        parameters = export_parameters_parse(request.query_params, self.export, seller_id=seller_id)
        return csv_response(self.export, parameters, actor=request.user)


class OperatorExportApi(_CsvExportApi):
    """An export across sellers (or of the one the `seller` filter names), for operators."""

    permission_classes = [_CAN_EXPORT]


class SellerExportApi(_CsvExportApi):
    """An export of the requesting seller user's own seller, which its membership fixes."""

    permission_classes = [IsSellerMember]
    seller_scoped = True


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
        parameters = export_parameters_parse(
            params, export, seller_id=seller.pk if seller is not None else None
        )
        job = services.export_job_request(
            report=export.name, parameters=parameters, requested_by=request.user, seller=seller
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
    filters = (SellerExportParametersInput if seller_scoped else ExportParametersInput)().fields
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "report": serializers.ChoiceField(choices=list(EXPORTS)),
        **{
            name: serializers.CharField(required=False, allow_blank=True, help_text=field.help_text)
            for name, field in filters.items()
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
