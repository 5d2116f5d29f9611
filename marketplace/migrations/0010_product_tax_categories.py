"""Product tax categories: the rate follows the category, the seller's country and the date.

Existing products of sellers in a country with a rate table (marketplace.eu_vat) get the
category whose rate equals the rate typed on them (in any of the country's dated entries);
a rate that matches none keeps the product's category. Their typed rate is then cleared:
from now on it is only for sellers in countries without a table. Reversed, a cleared rate is
filled with the category's rate on the day the migration is reversed (0 where the country has
no table), and the two new categories go back to "reduced".
"""

from datetime import date
from decimal import Decimal

import django.core.validators
from django.db import migrations, models

from marketplace.eu_vat import CATEGORIES, VAT_RATES, has_rate_table, vat_rate


def _category_of(country: str, rate: Decimal) -> str | None:
    for entry in reversed(VAT_RATES[country]):
        for category in CATEGORIES:
            if getattr(entry, category) == rate:
                return category
    return None


def categories_from_rates(apps, schema_editor):
    Product = apps.get_model("marketplace", "Product")
    products = Product.objects.select_related("seller").filter(tax_rate__isnull=False)
    for product in products.iterator():
        country = str(product.seller.country)
        if has_rate_table(country):
            category = _category_of(country, product.tax_rate) or product.tax_category
            Product.objects.filter(pk=product.pk).update(tax_category=category, tax_rate=None)


def rates_from_categories(apps, schema_editor):
    Product = apps.get_model("marketplace", "Product")
    products = Product.objects.select_related("seller").filter(tax_rate__isnull=True)
    for product in products.iterator():
        country = str(product.seller.country)
        category = product.tax_category
        rate = vat_rate(country, category, date.today()) if has_rate_table(country) else Decimal(0)
        # The old field knew two categories.
        old_category = category if category in ("standard", "reduced") else "reduced"
        Product.objects.filter(pk=product.pk).update(tax_rate=rate, tax_category=old_category)


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0009_checkout_submission_fingerprint'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='product',
            name='product_tax_rate_range',
        ),
        migrations.AlterField(
            model_name='product',
            name='tax_category',
            field=models.CharField(choices=[('standard', 'Standard rate'), ('reduced', 'Reduced rate'), ('super_reduced', 'Super-reduced rate'), ('zero', 'Zero rate')], default='standard', max_length=13),
        ),
        migrations.AlterField(
            model_name='product',
            name='tax_rate',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0'))]),
        ),
        migrations.AddConstraint(
            model_name='product',
            constraint=models.CheckConstraint(condition=models.Q(('tax_rate__isnull', True), models.Q(('tax_rate__gte', 0), ('tax_rate__lt', 100)), _connector='OR'), name='product_tax_rate_range'),
        ),
        migrations.RunPython(categories_from_rates, rates_from_categories),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('transaction_type', 'intra_eu_b2c')), fields=['seller', 'placed_at'], name='order_distance_sales'),
        ),
    ]
