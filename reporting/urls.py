"""Report pages and CSV downloads in admin, report exports in the API.

Mounted at the site root, before `admin/`, so that admin's catch-all does not take the pages:
    path("", include("reporting.urls")),
"""

from django.contrib import admin
from django.urls import path

from reporting import api, payout_views, views
from reporting.exports import EXPORTS, REPORT_EXPORTS
from reporting.filings import dac7_views, ecsl_views, oss_views

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
        "admin/reports/payouts/",
        admin.site.admin_view(payout_views.payout_page),
        name="reports-payouts",
    ),
    # The seller picker's search (reporting.forms.SellerPickerWidget).
    path(
        "admin/reports/sellers/",
        admin.site.admin_view(views.seller_search),
        name="reports-sellers",
    ),
    path(
        "admin/reports/<str:name>.csv",
        admin.site.admin_view(views.admin_report_export),
        name="reports-export-admin",
    ),
    # The invoice changelist's export form.
    path(
        "admin/invoicing/document/export.csv",
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
    # The EC Sales List (issue 18, item 4): operators in admin, seller users their own.
    path(
        "admin/reports/ec-sales-list/",
        admin.site.admin_view(ecsl_views.ecsl_page),
        name="reports-ecsl",
    ),
    path(
        "admin/reports/ec-sales-list/export.csv",
        admin.site.admin_view(ecsl_views.ecsl_csv),
        name="reports-ecsl-csv",
    ),
    path("seller/reports/ec-sales-list/", ecsl_views.seller_ecsl_page, name="seller-ecsl"),
    path(
        "seller/reports/ec-sales-list/export.csv",
        ecsl_views.seller_ecsl_csv,
        name="seller-ecsl-csv",
    ),
    # The OSS return draft (reporting/filings/oss.py): operators in admin, seller users their own.
    path("admin/reports/oss/", admin.site.admin_view(oss_views.oss_page), name="reports-oss"),
    path(
        "admin/reports/oss/return.csv",
        admin.site.admin_view(oss_views.oss_csv),
        name="reports-oss-csv",
    ),
    path("seller/reports/oss/", oss_views.seller_oss_page, name="seller-oss"),
    path("seller/reports/oss/return.csv", oss_views.seller_oss_csv, name="seller-oss-csv"),
    path("admin/reports/dac7/", admin.site.admin_view(dac7_views.dac7_page), name="reports-dac7"),
    path(
        "admin/reports/dac7.xml",
        admin.site.admin_view(dac7_views.dac7_download),
        name="reports-dac7-xml",
    ),
]
