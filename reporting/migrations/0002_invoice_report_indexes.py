"""Indexes on invoicing tables for the reports (measured by benchmarks/reporting.py).

Created concurrently (no write lock on a live invoice table), hence non-atomic. PostgreSQL
only: the embedded SQLite default neither needs them nor speaks INCLUDE or CONCURRENTLY.
"""

from django.db import migrations


class PostgreSQLRunSQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0001_initial"),
        ("invoicing", "0002_documentline_documenttax_invoice_buyer_country_and_more"),
    ]

    operations = [
        # Issued documents in export order: the streamed exports start without a sort.
        PostgreSQLRunSQL(
            sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS reporting_issued_doc_by_date "
                "ON invoicing_invoice (date, seller_id, number, id) WHERE state = 'issued'"
            ),
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS reporting_issued_doc_by_date",
        ),
    ]
