from django.db import migrations, models
from django.db.models import Case, Exists, OuterRef, Q, Value, When

# marketplace.tax.NO_VAT_NOTE when this migration was written: the note of a seller without VAT.
NO_VAT_NOTE = "The seller is not registered for VAT; no VAT is charged."
BUSINESS_TYPES = ("intra_eu_b2b", "3w_b2b")


def record_existing_decisions(apps, schema_editor):
    """Orders placed before the rate source and the buyer's classification were recorded: both
    follow from what checkout decided then."""
    Order = apps.get_model("marketplace", "Order")
    Seller = apps.get_model("sellers", "Seller")
    oss = Exists(Seller.objects.filter(pk=OuterRef("seller_id"), oss_registered=True))
    Order.objects.update(
        tax_rate_source=Case(
            When(Q(reverse_charge=True) | Q(tax_note=NO_VAT_NOTE), then=Value("zero")),
            When(Q(oss) & Q(transaction_type="intra_eu_b2c"), then=Value("buyer_country")),
            default=Value("seller"),
        ),
        buyer_is_end_consumer=Case(
            When(transaction_type__in=BUSINESS_TYPES, then=Value(False)),
            When(
                Q(transaction_type="domestic") & (~Q(buyer_company="") | ~Q(buyer_vat_number="")),
                then=Value(False),
            ),
            default=Value(True),
        ),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0007_order_search_trigram_indexes'),
        ('sellers', '0002_seller_invoice_trigger_seller_oss_registered_and_more'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='buyer_is_end_consumer',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='order',
            name='tax_rate_source',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.RunPython(record_existing_decisions, migrations.RunPython.noop),
    ]
