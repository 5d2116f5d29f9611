# Admin's order search (marketplace.admin.OrderAdmin): trigram indexes on PostgreSQL only.

from django.db import migrations

from core.migration_operations import AddTrigramIndex, PostgreSQLTrigramExtension


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0006_checkout_submission_token_guest_link_sent_at'),
    ]

    operations = [
        PostgreSQLTrigramExtension(),
        AddTrigramIndex('order', 'buyer_email', 'order_buyer_email_trgm'),
        AddTrigramIndex('order', 'buyer_name', 'order_buyer_name_trgm'),
        AddTrigramIndex('order', 'buyer_vat_number', 'order_buyer_vat_number_trgm'),
    ]
