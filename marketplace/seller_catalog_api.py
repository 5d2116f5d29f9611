"""A seller's own products in the API: `GET/POST /api/seller/products/`,
`GET/PATCH /api/seller/products/{id}/`. Seller users read them, admins and editors write them
(others get 403); a product of another seller answers 404. Writes go through marketplace.catalog."""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import authenticated_user
from core.errors import ApplicationError
from core.parsers import JSONParser
from marketplace import catalog
from marketplace.models import Product
from sellers import selectors as seller_selectors
from sellers.models import SellerRole, SellerUser

WRITERS = (SellerRole.ADMIN, SellerRole.EDITOR)


class SellerProductOutputSerializer(serializers.ModelSerializer[Product]):
    image_url = serializers.SerializerMethodField()
    # Where the goods ship from (blank: the seller's country), as its country code.
    ships_from = serializers.CharField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "description",
            "unit_price",
            "currency",
            "tax_category",
            "tax_rate",
            "stock",
            "ships_from",
            "is_active",
            "image_url",
        ]

    def get_image_url(self, product: Product) -> str | None:
        return f"/products/{product.pk}/image/" if product.image else None


class SellerProductInputSerializer(serializers.Serializer[None]):
    """Shapes only: values are checked by marketplace.catalog (400 naming the field)."""

    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    unit_price = serializers.CharField(trim_whitespace=False)
    currency = serializers.CharField(required=False, default="EUR")
    tax_category = serializers.CharField(required=False, default="standard")
    tax_rate = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    stock = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    ships_from = serializers.CharField(required=False, allow_blank=True, default="")
    image = serializers.FileField(required=False)


def _membership(request: Request) -> SellerUser:
    membership = seller_selectors.seller_membership_for_user(request.user)
    if membership is None:
        raise PermissionDenied("Only seller users have seller products.")
    return membership


def _writer(request: Request) -> SellerUser:
    membership = _membership(request)
    if membership.role not in WRITERS:
        raise ApplicationError(
            "Only the seller's admins and editors manage its products.",
            code="permission_denied",
            http_status=status.HTTP_403_FORBIDDEN,
        )
    return membership


def _input(request: Request, *, partial: Product | None = None) -> tuple[catalog.ProductInput, Any]:
    if not isinstance(request.data, Mapping):
        SellerProductInputSerializer(data=request.data).is_valid(raise_exception=True)
    data: dict[str, Any] = {key: request.data.get(key) for key in request.data}
    if partial is not None:
        current = {
            "name": partial.name,
            "description": partial.description,
            "unit_price": str(partial.unit_price),
            "currency": partial.currency,
            "tax_category": partial.tax_category,
            "tax_rate": None if partial.tax_rate is None else str(partial.tax_rate),
            "stock": None if partial.stock is None else str(partial.stock),
            "ships_from": str(partial.ships_from),
        }
        data = {**current, **data}
    serializer = SellerProductInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    image = values.pop("image", None)
    return catalog.ProductInput(**values), image


class SellerProductListApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    def _products(self, request: Request) -> QuerySet[Product]:
        return Product.objects.filter(seller=_membership(request).seller).order_by("name", "pk")

    @extend_schema(responses=SellerProductOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        products = self._products(request)
        return Response(SellerProductOutputSerializer(products, many=True).data)

    @extend_schema(
        request=SellerProductInputSerializer, responses={201: SellerProductOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        membership = _writer(request)
        data, image = _input(request)
        product = catalog.product_create(
            seller_id=membership.seller_id,
            actor=authenticated_user(request),
            data=data,
            image=image,
        )
        return Response(SellerProductOutputSerializer(product).data, status=201)


class SellerProductDetailApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    def _product(self, request: Request, pk: int) -> Product:
        seller = _membership(request).seller
        return get_object_or_404(Product.objects.select_related("seller"), pk=pk, seller=seller)

    @extend_schema(responses=SellerProductOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(SellerProductOutputSerializer(self._product(request, pk)).data)

    @extend_schema(request=SellerProductInputSerializer, responses=SellerProductOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        product = self._product(request, pk)
        _writer(request)
        data, image = _input(request, partial=product)
        product = catalog.product_update(
            product=product,
            actor=authenticated_user(request),
            data=data,
            image=image,
            # A PATCH without a stock keeps the stock as checkouts leave it.
            stock_seen=None if "stock" in request.data else catalog.StockSeen(product.stock),
        )
        return Response(SellerProductOutputSerializer(product).data)
