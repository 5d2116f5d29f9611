"""Demo sellers and products for `make run`, only while the catalog has no products.

Sellers are onboarded through the normal service, so their Space Invoices entities are created
by the worker (in the sandbox by default); their products show in the catalog once they are.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.models import Product, TaxCategory
from sellers.services import SellerDetails, seller_onboard

SELLERS = [
    (
        SellerDetails(
            business_name="Alpine Crafts d.o.o.",
            address="Trubarjeva cesta 1",
            post_code="1000",
            city="Ljubljana",
            country="SI",
            email="billing@alpine-crafts.example",
            tax_number="SI50223054",
            primary_colour="#0B6E4F",
            invoice_footer="Alpine Crafts d.o.o., registered in Ljubljana.",
        ),
        [
            ("Hand-carved spoon", "Linden wood, oiled.", "14.90", "22.00", TaxCategory.STANDARD),
            ("Forest honey 450 g", "From hives above Bohinj.", "8.50", "9.50", TaxCategory.REDUCED),
            ("Wool blanket", "Undyed sheep's wool.", "89.00", "22.00", TaxCategory.STANDARD),
        ],
    ),
    (
        SellerDetails(
            business_name="Berlin Books GmbH",
            address="Friedrichstraße 10",
            post_code="10117",
            city="Berlin",
            country="DE",
            email="rechnung@berlin-books.example",
            tax_number="DE136695976",
            primary_colour="#8B1E3F",
            invoice_footer="Berlin Books GmbH, Amtsgericht Charlottenburg.",
        ),
        [
            (
                "Field guide to the Alps",
                "Paperback, 320 pages.",
                "24.00",
                "7.00",
                TaxCategory.REDUCED,
            ),
            ("City atlas", "Hardcover.", "39.90", "7.00", TaxCategory.REDUCED),
        ],
    ),
    (
        SellerDetails(
            business_name="Wiener Kaffee GmbH",
            address="Mariahilfer Straße 1",
            post_code="1060",
            city="Wien",
            country="AT",
            email="office@wiener-kaffee.example",
            tax_number="ATU13585627",
            primary_colour="#F2A900",
        ),
        [
            ("Espresso beans 1 kg", "Dark roast.", "21.50", "10.00", TaxCategory.REDUCED),
            ("Porcelain cup", "Hand-painted.", "16.00", "20.00", TaxCategory.STANDARD),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo sellers and products when the catalog has no products yet."

    def handle(self, *args: object, **options: object) -> None:
        if Product.objects.exists():
            self.stdout.write("The catalog has products; nothing seeded.")
            return
        with transaction.atomic():
            for details, products in SELLERS:
                seller = seller_onboard(details=details)
                Product.objects.bulk_create(
                    Product(
                        seller=seller,
                        name=name,
                        description=description,
                        unit_price=Decimal(price),
                        tax_rate=Decimal(rate),
                        tax_category=category,
                    )
                    for name, description, price, rate, category in products
                )
        self.stdout.write(
            f"Seeded {len(SELLERS)} sellers; their products show once their entities exist."
        )
