from io import StringIO

import pytest
from django.core.management import call_command

from marketplace.models import Product
from sellers.models import Seller, SellerStatus

pytestmark = pytest.mark.django_db


def test_seed_onboards_sellers_whose_products_reach_the_catalog(
    client, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_catalog", stdout=StringIO())

    sellers = list(Seller.objects.order_by("pk").values_list("business_name", "status"))
    assert sellers == [
        ("Alpine Crafts d.o.o.", SellerStatus.ACTIVE),
        ("Berlin Books GmbH", SellerStatus.ACTIVE),
        ("Wiener Kaffee GmbH", SellerStatus.ACTIVE),
    ]
    assert all(Seller.objects.values_list("entity_id", flat=True))
    groups = client.get("/").context["groups"]
    assert [(g.seller.business_name, len(g.products)) for g in groups] == [
        ("Alpine Crafts d.o.o.", 3),
        ("Berlin Books GmbH", 2),
        ("Wiener Kaffee GmbH", 2),
    ]


def test_seed_does_nothing_once_there_are_products(sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_catalog", stdout=StringIO())
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("seed_catalog", stdout=out)

    assert out.getvalue() == "The catalog has products; nothing seeded.\n"
    assert (Seller.objects.count(), Product.objects.count()) == (3, 7)
    assert callbacks == []
