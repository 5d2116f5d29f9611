"""Report pages and CSV downloads in admin, report exports in the API.

Mounted at the site root, before `admin/`, so that admin's catch-all does not take the pages:
    path("", include("reporting.urls")),
"""

from django.contrib import admin
from django.urls import path

from reporting import api, views
from reporting.exports import EXPORTS, REPORT_EXPORTS
from reporting.filings import dac7_views

# One route per export, each named for the templates and the API schema.
csv_export_routes = [
    *(
        path(
            f"api/reports/{export.name}.csv",
            api.OperatorExportApi.as_view(export=export),
            name=f"report-{export.name}-csv",
        )
        for export in EXPORTS.values()
    ),
    *(
        path(
            f"api/reports/seller/{export.name}.csv",
            api.SellerExportApi.as_view(export=export),
            name=f"report-seller-{export.name}-csv",
        )
        for export in REPORT_EXPORTS
    ),
]

urlpatterns = [
    path("admin/reports/", admin.site.admin_view(views.reports_index), name="reports-index"),
    path(
        "admin/reports/statement/",
        admin.site.admin_view(views.statement_page),
        name="reports-statement",
    ),
    path(
        "admin/reports/summary/", admin.site.admin_view(views.summary_page), name="reports-summary"
    ),
    path("admin/reports/vat/", admin.site.admin_view(views.vat_page), name="reports-vat"),
    path("admin/reports/health/", admin.site.admin_view(views.health_page), name="reports-health"),
    path(
        "admin/reports/<str:name>.csv",
        admin.site.admin_view(views.admin_report_export),
        name="reports-export-admin",
    ),
    # The invoice changelist's export form.
    path(
        "admin/invoicing/invoice/export.csv",
        admin.site.admin_view(views.admin_invoice_export),
        name="report-invoices-csv-admin",
    ),
    *csv_export_routes,
    path("api/reports/exports/", api.ExportJobCreateApi.as_view(), name="report-export-jobs"),
    path(
        "api/reports/exports/<int:pk>/",
        api.ExportJobDetailApi.as_view(),
        name="report-export-job",
    ),
    path(
        "api/reports/exports/<int:pk>/download",
        api.ExportJobDownloadApi.as_view(),
        name="report-export-job-download",
    ),
    path(
        "api/reports/seller/exports/",
        api.SellerExportJobCreateApi.as_view(),
        name="report-seller-export-jobs",
    ),
    path(
        "api/reports/seller/exports/<int:pk>/",
        api.SellerExportJobDetailApi.as_view(),
        name="report-seller-export-job",
    ),
    path(
        "api/reports/seller/exports/<int:pk>/download",
        api.SellerExportJobDownloadApi.as_view(),
        name="report-seller-export-job-download",
    ),
    path("admin/reports/dac7/", admin.site.admin_view(dac7_views.dac7_page), name="reports-dac7"),
    path(
        "admin/reports/dac7.xml",
        admin.site.admin_view(dac7_views.dac7_download),
        name="reports-dac7-xml",
    ),
]
