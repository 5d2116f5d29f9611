from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from invoicing.models import Document, DocumentLine, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace import services
from marketplace.models import Checkout, Order, OrderLine, OrderStatus, Product, TaxCategory
from marketplace.pricing import PricedLine, order_totals
from marketplace.services import BillingDetails
from sellers.models import Seller, SellerRole, SellerStatus, SellerUser

# The buyer's billing details of the tests' checkouts (`dataclasses.asdict` for a form or payload).
BILLING = BillingDetails(
    name="Ana Novak",
    email="ana@example.com",
    address="Prešernova 5",
    post_code="2000",
    city="Maribor",
    country="SI",
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


def operator_user(*perms: str, **fields: object) -> Any:
    """A staff user holding `perms` ("app_label.codename") and nothing more."""
    user = UserFactory(is_staff=True, **fields)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


class SellerFactory(factory.django.DjangoModelFactory):
    """An active seller with an entity id; use status=draft/pending for others."""

    class Meta:
        model = Seller

    business_name = factory.Sequence(lambda n: f"Seller {n} d.o.o.")
    address = "Trubarjeva 1"
    post_code = "1000"
    city = "Ljubljana"
    country = "SI"
    tax_number = "SI50223054"
    is_tax_subject = True
    email = factory.Sequence(lambda n: f"seller{n}@example.com")
    status = SellerStatus.ACTIVE
    entity_id = factory.Sequence(lambda n: f"ent_{n:024x}")


def seller_with_entity(**fields: object) -> Seller:
    """An active seller whose entity exists in the sandbox (use with the `sandbox` fixture)."""
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None, **fields)
    return seller_entity_create(seller_id=pending.pk)


class SellerUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellerUser

    user = factory.SubFactory(UserFactory)
    seller = factory.SubFactory(SellerFactory)
    role = SellerRole.ADMIN


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    unit_price = Decimal("10.00")
    currency = "EUR"
    tax_category = TaxCategory.STANDARD


class OrderFactory(factory.django.DjangoModelFactory):
    """A paid order of one line (1 x 10.00 at 22 %) for an active seller."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    seller = factory.SubFactory(SellerFactory)
    buyer = factory.SubFactory(UserFactory)
    checkout = factory.LazyAttribute(lambda order: Checkout.objects.create(buyer=order.buyer))
    buyer_name = "Ana Novak"
    buyer_email = "ana@example.com"
    billing_address = "Prešernova 5"
    billing_post_code = "2000"
    billing_city = "Maribor"
    billing_country = "SI"
    currency = "EUR"
    status = OrderStatus.PAID
    total_net = Decimal("10.00")
    total_tax = Decimal("2.20")
    total_gross = Decimal("12.20")
    line = factory.RelatedFactory("tests.factories.OrderLineFactory", factory_related_name="order")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.LazyAttribute(lambda line: ProductFactory(seller=line.order.seller))
    name = "Mug"
    quantity = 1
    unit_price = Decimal("10.00")
    tax_rate = Decimal("22.00")
    total_net = Decimal("10.00")


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An issued invoice mirroring its order; pass state=failed/pending with no number."""

    class Meta:
        model = Document
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    seller = factory.SelfAttribute("order.seller")
    entity_id = factory.SelfAttribute("order.seller.entity_id")
    currency = factory.SelfAttribute("order.currency")
    state = DocumentState.ISSUED
    remote_id = factory.Sequence(lambda n: f"inv_{n:024x}")
    number = factory.Sequence(lambda n: f"2026-{n + 1:05d}")
    shareable_id = factory.Sequence(lambda n: f"{n:024x}")
    total_net = factory.SelfAttribute("order.total_net")
    total_tax = factory.SelfAttribute("order.total_tax")
    total_gross = factory.SelfAttribute("order.total_gross")

    @factory.post_generation
    def lines(self, create: bool, extracted: object, **kwargs: object) -> None:
        """One document line per order line, as invoice_request writes them."""
        if create:
            DocumentLine.objects.bulk_create(
                DocumentLine(
                    document=self,
                    order_line=line,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    tax_rate=line.tax_rate,
                    total_net=line.total_net,
                )
                for line in self.order.lines.all()
            )


def invoice_with_lines(lines: list[tuple[int, Decimal, Decimal]]) -> Document:
    """An issued invoice of a new order with these `(quantity, unit price, rate)` lines, its
    totals computed as Space Invoices computes them."""
    order = OrderFactory(line=None)
    for quantity, price, rate in lines:
        order.lines.create(
            product=ProductFactory(seller=order.seller),
            name=f"{quantity} at {price}",
            quantity=quantity,
            unit_price=price,
            tax_rate=rate,
            total_net=price * quantity,
        )
    totals = order_totals([PricedLine(q, p, r) for q, p, r in lines], "EUR")
    return InvoiceFactory(
        order=order, total_net=totals.net, total_tax=totals.tax, total_gross=totals.gross
    )


def paid_order(billing: BillingDetails, callbacks: Any, *lines: tuple[Product, int]) -> Order:
    """A one-seller order of (product, quantity) lines, placed and paid; `callbacks` is
    django_capture_on_commit_callbacks, so its invoice is issued."""
    checkout = services.checkout_create(
        buyer=UserFactory(),
        lines=[services.CartLine(product.pk, quantity) for product, quantity in lines],
        billing=billing,
    )
    order: Order = checkout.orders.get()
    with callbacks(execute=True):
        services.order_mark_paid(order_id=order.pk)
    return order
