"""Catalog pages: the products grouped by seller, and one product."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketplace.models import Product
from marketplace.selectors import catalog_products
from marketplace.storefront.forms import QuantityForm
from marketplace.storefront.views.common import not_found
from sellers.branding import readable_text_colour
from sellers.models import Seller

CATALOG_PAGE_SIZE = 24


@dataclass(frozen=True)
class SellerProducts:
    seller: Seller
    products: list[Product]

    @property
    def text_colour(self) -> str:
        return readable_text_colour(self.seller.primary_colour)


def _by_seller(products: Iterable[Product]) -> list[SellerProducts]:
    groups: dict[int, SellerProducts] = {}
    for product in products:
        groups.setdefault(product.seller_id, SellerProducts(product.seller, [])).products.append(
            product
        )
    return list(groups.values())


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    page = Paginator(catalog_products(), CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "groups": _by_seller(page.object_list)}
    return render(request, "storefront/catalog.html", context)


@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = catalog_products().filter(pk=pk).first()
    if product is None:
        return not_found(request, "This product is not in the catalog (any more).")
    form = QuantityForm(initial={"product_id": product.pk, "quantity": 1})
    context = {
        "product": product,
        "form": form,
        "text_colour": readable_text_colour(product.seller.primary_colour),
    }
    return render(request, "storefront/product.html", context)


@require_GET
def product_image(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """A catalog product's image, read from the media storage (so no separate file server)."""
    product = catalog_products().filter(pk=pk).exclude(image="").first()
    if product is None:
        return not_found(request, "This product has no image.")
    response = FileResponse(product.image.open("rb"))
    response["Cache-Control"] = "public, max-age=300"
    return response
