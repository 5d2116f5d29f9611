"""manage.py export_invoices: the issue-2 invoice CSV export, to a file or stdout."""

from reporting.management.commands.export_report import Command as ExportReportCommand


class Command(ExportReportCommand):
    help = "Export issued invoices across sellers as CSV (the same columns as the admin and API)."
    fixed_report = "invoices"
