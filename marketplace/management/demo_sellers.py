"""The demo sellers and their products: `seed_catalog` seeds them all, `demo` the first two
sellers with their first product each."""

from decimal import Decimal
from typing import NamedTuple

from marketplace.models import Product, TaxCategory
from sellers.models import Seller
from sellers.onboarding import SellerDetails


class DemoProduct(NamedTuple):
    name: str
    description: str
    unit_price: str
    tax_category: str = TaxCategory.STANDARD

    def build(self, seller: Seller) -> Product:
        """The unsaved product of `seller`."""
        return Product(
            seller=seller,
            name=self.name,
            description=self.description,
            unit_price=Decimal(self.unit_price),
            tax_category=self.tax_category,
        )


class DemoSeller(NamedTuple):
    details: SellerDetails
    products: list[DemoProduct]


DEMO_SELLERS = [
    DemoSeller(
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
            DemoProduct("Hand-carved spoon", "Linden wood, oiled.", "14.90"),
            DemoProduct(
                "Forest honey 450 g",
                "From hives above Bohinj.",
                "8.50",
                TaxCategory.REDUCED,
            ),
            DemoProduct("Wool blanket", "Undyed sheep's wool.", "89.00"),
        ],
    ),
    DemoSeller(
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
            DemoProduct(
                "Field guide to the Alps",
                "Paperback, 320 pages.",
                "24.00",
                TaxCategory.REDUCED,
            ),
            DemoProduct("City atlas", "Hardcover.", "39.90", TaxCategory.REDUCED),
        ],
    ),
    DemoSeller(
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
            DemoProduct("Espresso beans 1 kg", "Dark roast.", "21.50", TaxCategory.REDUCED),
            DemoProduct("Porcelain cup", "Hand-painted.", "16.00"),
        ],
    ),
]
