# Admin's document search (invoicing.admin.InvoiceAdmin): trigram indexes on PostgreSQL only.

from django.db import migrations

from core.migration_operations import AddTrigramIndex


class Migration(migrations.Migration):

    dependencies = [
        ('invoicing', '0007_finding_state_drift'),
        # pg_trgm
        ('marketplace', '0007_order_search_trigram_indexes'),
    ]

    operations = [
        AddTrigramIndex('invoice', 'number', 'document_number_trgm'),
        AddTrigramIndex('invoice', 'remote_id', 'document_remote_id_trgm'),
        AddTrigramIndex('invoice', 'entity_id', 'document_entity_id_trgm'),
    ]
