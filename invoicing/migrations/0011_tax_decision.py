from django.db import migrations, models
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When

BUSINESS_TYPES = ("intra_eu_b2b", "3w_b2b")


def record_existing_treatments(apps, schema_editor):
    """Rows written before a document recorded its whole treatment: the rate source and note
    are the order's unless the treatment changed at issue (then VIES found no valid number:
    no note, intra-EU B2C rates), and the customer is classified by the row's own type."""
    Invoice = apps.get_model("invoicing", "Invoice")
    Order = apps.get_model("marketplace", "Order")
    order = Order.objects.filter(pk=OuterRef("order_id"))
    Invoice.objects.update(
        rate_source=Subquery(order.values("tax_rate_source")[:1]),
        tax_note=Subquery(order.values("tax_note")[:1]),
        customer_is_end_consumer=Case(
            When(transaction_type__in=BUSINESS_TYPES, then=Value(False)),
            When(transaction_type="domestic", then=Subquery(order.values("buyer_is_end_consumer")[:1])),
            default=Value(True),
        ),
    )
    changed_at_issue = ~Q(transaction_type=Subquery(order.values("transaction_type")[:1]))
    Seller = apps.get_model("sellers", "Seller")
    oss = Exists(Seller.objects.filter(pk=OuterRef("seller_id"), oss_registered=True))
    Invoice.objects.filter(changed_at_issue).update(
        rate_source=Case(When(oss, then=Value("buyer_country")), default=Value("seller")),
        tax_note="",
    )
    Invoice.objects.filter(customer_is_end_consumer=False).update(
        customer_tax_number=Subquery(order.values("buyer_vat_number")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ('invoicing', '0010_dashboard_credit_notes'),
        ('marketplace', '0008_tax_decision'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='customer_is_end_consumer',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='invoice',
            name='customer_tax_number',
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name='invoice',
            name='held_reason',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='invoice',
            name='rate_source',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name='invoice',
            name='tax_note',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(record_existing_treatments, migrations.RunPython.noop),
    ]
