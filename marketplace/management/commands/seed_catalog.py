"""Demo sellers and products for `make run`, only while the catalog has no products.

Sellers are onboarded through the normal service, so their Space Invoices entities are created
by the worker (in the sandbox by default); their products show in the catalog once they are.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.management.demo_sellers import DEMO_SELLERS
from marketplace.models import Product
from sellers.onboarding import seller_onboard


class Command(BaseCommand):
    help = "Create demo sellers and products when the catalog has no products yet."

    def handle(self, *args: object, **options: object) -> None:
        if Product.objects.exists():
            self.stdout.write("The catalog has products; nothing seeded.")
            return
        with transaction.atomic():
            for details, products in DEMO_SELLERS:
                seller = seller_onboard(details=details)
                Product.objects.bulk_create(product.build(seller) for product in products)
        self.stdout.write(
            f"Seeded {len(DEMO_SELLERS)} sellers; their products show once their entities exist."
        )
