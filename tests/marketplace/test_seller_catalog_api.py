"""A seller's products in the API: create, read, edit; another seller's product is 404; bad
input is a 400 naming the field and writes nothing."""

import io

import pytest
from PIL import Image

from core.models import AuditEvent
from marketplace import catalog
from marketplace.models import Product
from sellers.models import SellerRole
from tests.factories import ProductFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/seller/products/"


def png(size=(4, 4)) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(data, format="PNG")
    data.seek(0)
    data.name = "mug.png"
    return data


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def member():
    return SellerUserFactory(role=SellerRole.EDITOR)


@pytest.fixture
def seller_client(api_client, member):
    api_client.force_authenticate(member.user)
    return api_client


def test_an_editor_creates_a_product_with_an_image_and_reads_it_back(seller_client, member):
    body = {
        "name": "Mug",
        "description": "Stoneware",
        "unit_price": "12.50",
        "currency": "EUR",
        "tax_category": "reduced",
        "stock": "7",
        "ships_from": "de",
        "image": png(),
    }

    response = seller_client.post(PRODUCTS, body, format="multipart")

    assert response.status_code == 201, response.json()
    product = Product.objects.get()
    assert response.json() == {
        "id": product.pk,
        "name": "Mug",
        "description": "Stoneware",
        "unit_price": "12.50",
        "currency": "EUR",
        "tax_category": "reduced",
        "tax_rate": None,
        "stock": 7,
        "ships_from": "DE",
        "is_active": True,
        "image_url": f"/products/{product.pk}/image/",
    }
    assert product.seller_id == member.seller_id
    assert product.image.name.endswith(".png")
    assert seller_client.get(PRODUCTS).json()[0]["id"] == product.pk
    image = seller_client.get(f"/products/{product.pk}/image/")
    assert image.status_code == 200
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert AuditEvent.objects.filter(action="product.created").count() == 1


def test_an_edit_changes_only_what_is_sent(seller_client, member):
    product = ProductFactory(seller=member.seller, name="Mug", stock=3)

    response = seller_client.patch(f"{PRODUCTS}{product.pk}/", {"stock": 10}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["stock"]) == ("Mug", 10)


def test_another_sellers_product_is_not_found(seller_client):
    other = ProductFactory(name="Not yours", stock=1)

    assert seller_client.get(f"{PRODUCTS}{other.pk}/").status_code == 404
    response = seller_client.patch(f"{PRODUCTS}{other.pk}/", {"stock": 0}, format="json")
    assert response.status_code == 404
    assert seller_client.get(PRODUCTS).json() == []
    assert Product.objects.get(pk=other.pk).stock == 1


def test_a_viewer_reads_but_does_not_write(api_client):
    viewer = SellerUserFactory(role=SellerRole.VIEWER)
    api_client.force_authenticate(viewer.user)

    response = api_client.post(PRODUCTS, {"name": "Mug", "unit_price": "1"}, format="json")

    assert response.status_code == 403
    assert Product.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"unit_price": "-1.00"}, "unit_price", "The price cannot be negative."),
        ({"unit_price": "twelve"}, "unit_price", "Enter a number."),
        ({"unit_price": "NaN"}, "unit_price", "Enter a number."),
        ({"stock": "-1"}, "stock", "Stock cannot be below zero."),
        ({"stock": "2.5"}, "stock", "Stock must be a whole number."),
        ({"name": "  "}, "name", "A product needs a name."),
        ({"tax_category": "luxury"}, "tax_category", None),
        ({"tax_rate": "20"}, "tax_rate", None),
        ({"ships_from": "XX"}, "ships_from", "'XX' is not an ISO 3166-1 alpha-2 country code."),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    seller_client, change, field, message
):
    body = {"name": "Mug", "unit_price": "12.50", "stock": "3", **change}

    response = seller_client.post(PRODUCTS, body, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == field
    if message is not None:
        assert response.json()["detail"] == message
    assert Product.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (io.BytesIO(b"%PDF-1.4 not an image"), "This file is not an image (JPEG, PNG or WebP)."),
        (None, "Images must be JPEG, PNG or WebP; this one is GIF."),
    ],
)
def test_a_bad_image_is_refused_naming_the_image_and_nothing_is_stored(
    seller_client, settings, upload, message
):
    if upload is None:
        upload = io.BytesIO()
        Image.new("RGB", (2, 2)).save(upload, format="GIF")
        upload.seek(0)
    upload.name = "file.png"

    response = seller_client.post(
        PRODUCTS, {"name": "Mug", "unit_price": "1.00", "image": upload}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": message, "field": "image", "code": "invalid"}
    assert Product.objects.count() == 0
    assert not (settings.MEDIA_ROOT / "product-images").exists()


def test_an_image_over_the_size_limit_is_refused(seller_client, monkeypatch):
    monkeypatch.setattr("marketplace.catalog.MAX_IMAGE_BYTES", 50)

    response = seller_client.post(
        PRODUCTS, {"name": "Mug", "unit_price": "1.00", "image": png((64, 64))}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "image"
    assert Product.objects.count() == 0


def test_a_user_of_no_seller_is_refused(api_client):
    api_client.force_authenticate(UserFactory())

    assert api_client.get(PRODUCTS).status_code == 403
    assert api_client.post(PRODUCTS, {"name": "Mug", "unit_price": "1"}).status_code == 403
    assert Product.objects.count() == 0


def test_a_body_that_is_not_an_object_is_a_400(seller_client):
    response = seller_client.post(PRODUCTS, [None, None], format="json")

    assert response.status_code == 400
    assert Product.objects.count() == 0


def test_an_edit_without_a_stock_keeps_what_checkouts_took_after_it_read_the_product(member):
    product = ProductFactory(seller=member.seller, name="Mug", stock=1)
    read = Product.objects.select_related("seller").get(pk=product.pk)
    Product.objects.filter(pk=product.pk).update(stock=0)  # the last unit sold meanwhile
    data = catalog.ProductInput(
        name="Big mug",
        description="",
        unit_price=str(read.unit_price),
        currency=read.currency,
        tax_category=read.tax_category,
        tax_rate=None,
        stock="1",
    )

    catalog.product_update(
        product=read, actor=member.user, data=data, stock_seen=catalog.StockSeen(read.stock)
    )

    product.refresh_from_db()
    assert (product.name, product.stock) == ("Big mug", 0)
