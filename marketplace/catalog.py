"""A seller's catalogue: its products, written by its staff (seller pages and API) through these
services (checkout takes their stock: marketplace.stock).

Every input is checked before anything is written, so a refused product leaves nothing behind
(no row, no stored image): a price that is not a number or is negative, a stock below zero, an
image that is not a JPEG, PNG or WebP Pillow can decode, or larger than MAX_IMAGE_BYTES.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from core.audit import audit_record
from core.errors import ApplicationError
from marketplace.models import MONEY_MAX, Product, TaxCategory
from marketplace.services import product_tax_rate_validate
from sellers.models import Seller
from sellers.validation import country_code_validate, currency_code_validate

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# Pillow's format name -> the stored file's extension.
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_STOCK = 1_000_000_000


@dataclass(frozen=True)
class ProductInput:
    """A product as its seller's staff enter it; `unit_price` and `stock` as typed or sent."""

    name: str
    unit_price: object
    currency: str = "EUR"
    tax_category: str = TaxCategory.STANDARD
    description: str = ""
    tax_rate: object = None
    stock: object = None
    ships_from: str = ""


def product_create(
    *, seller_id: int, actor: User, data: ProductInput, image: UploadedFile | None = None
) -> Product:
    seller = Seller.objects.get(pk=seller_id)
    fields = _validated(data, seller_country=str(seller.country))
    if image is not None:
        image_validate(image)
    with transaction.atomic():
        product = Product(seller=seller, **fields)
        if image is not None:
            product.image.save(_image_name(image), image, save=False)
        product.save()
        audit_record(
            action="product.created",
            actor=actor,
            seller_id=seller.pk,
            detail={"product_id": product.pk},
        )
    logger.info("seller %s: product %s created", seller.pk, product.pk)
    return product


@dataclass(frozen=True)
class StockSeen:
    """The stock an edit started from (the form's page, the product a PATCH read)."""

    stock: int | None


def product_update(
    *,
    product: Product,
    actor: User,
    data: ProductInput,
    image: UploadedFile | None = None,
    stock_seen: StockSeen | None = None,
) -> Product:
    """Replace the product's fields (and its image when one is given); orders keep what they
    sold (their lines copy name, price and rate). An edit that leaves the stock it started from
    as it was keeps the stock as it is now: checkouts since then took units."""
    fields = _validated(data, seller_country=str(product.seller.country))
    if image is not None:
        image_validate(image)
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        if stock_seen is not None and fields["stock"] == stock_seen.stock:
            fields.pop("stock")
        for name, value in fields.items():
            setattr(locked, name, value)
        if image is not None:
            locked.image.save(_image_name(image), image, save=False)
        locked.save()
        audit_record(
            action="product.updated",
            actor=actor,
            seller_id=locked.seller_id,
            detail={"product_id": locked.pk, "fields": sorted(fields)},
        )
    return locked


def image_validate(image: UploadedFile) -> None:
    """A JPEG, PNG or WebP of at most MAX_IMAGE_BYTES that Pillow decodes, else a 400 naming
    `image`."""
    if image.size is None or image.size > MAX_IMAGE_BYTES:
        raise ApplicationError(
            f"The image is larger than {MAX_IMAGE_BYTES // 1024} KB.", field="image"
        )
    try:
        image.seek(0)
        with Image.open(image) as picture:
            picture_format = picture.format
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ApplicationError(
            "This file is not an image (JPEG, PNG or WebP).", field="image"
        ) from None
    finally:
        image.seek(0)
    if picture_format not in IMAGE_FORMATS:
        raise ApplicationError(
            f"Images must be JPEG, PNG or WebP; this one is {picture_format}.", field="image"
        )


def _validated(data: ProductInput, *, seller_country: str) -> dict[str, object]:
    name = data.name.strip()
    if not name:
        raise ApplicationError("A product needs a name.", field="name")
    if len(name) > 200:
        raise ApplicationError("At most 200 characters.", field="name")
    unit_price = _decimal(data.unit_price, field="unit_price")
    if unit_price < 0:
        raise ApplicationError("The price cannot be negative.", field="unit_price")
    if unit_price > MONEY_MAX or unit_price != unit_price.quantize(Decimal("0.01")):
        raise ApplicationError(
            f"The price must be at most {MONEY_MAX:,} with at most two decimals.",
            field="unit_price",
            code="out_of_range",
        )
    if data.tax_category not in TaxCategory.values:
        raise ApplicationError(
            f"Tax category must be one of {', '.join(TaxCategory.values)}.", field="tax_category"
        )
    tax_rate = None
    if data.tax_rate not in (None, ""):
        tax_rate = _decimal(data.tax_rate, field="tax_rate")
        if not Decimal(0) <= tax_rate < 100:
            raise ApplicationError("A rate is from 0 to under 100 %.", field="tax_rate")
    product_tax_rate_validate(seller_country=seller_country, tax_rate=tax_rate)
    return {
        "name": name,
        "description": data.description.strip(),
        "unit_price": unit_price,
        "currency": currency_code_validate(data.currency, field="currency"),
        "tax_category": data.tax_category,
        "tax_rate": tax_rate,
        "stock": _stock(data.stock),
        "ships_from": (
            country_code_validate(data.ships_from, field="ships_from")
            if data.ships_from.strip()
            else ""
        ),
    }


def _stock(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApplicationError("Stock must be a whole number.", field="stock")
    try:
        stock = int(value)
    except ValueError:
        raise ApplicationError("Stock must be a whole number.", field="stock") from None
    if stock < 0:
        raise ApplicationError("Stock cannot be below zero.", field="stock")
    if stock > MAX_STOCK:
        raise ApplicationError(
            f"Stock is at most {MAX_STOCK:,}.", field="stock", code="out_of_range"
        )
    return stock


def _decimal(value: object, *, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ApplicationError("Enter a number.", field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApplicationError("Enter a number.", field=field) from None
    if not number.is_finite():
        raise ApplicationError("Enter a number.", field=field)
    return number


def _image_name(image: UploadedFile) -> str:
    image.seek(0)
    with Image.open(image) as picture:
        extension = IMAGE_FORMATS[str(picture.format)]
    image.seek(0)
    return f"product.{extension}"
