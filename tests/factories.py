from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from marketplace.models import Product
from sellers.models import Seller, SellerRole, SellerStatus, SellerUser


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


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
    tax_rate = Decimal("22.00")
