"""Storefront API: catalog, buyer accounts, checkout and order transitions."""

import hashlib
import json
import re
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.accounts import password_validate, user_create
from core.api import authenticated_user
from core.errors import ApplicationError
from core.openapi import BAD_REQUEST
from core.parsers import JSONParser
from core.throttles import LoginThrottle, login_lockout_seconds
from marketplace import selectors, services
from marketplace.listing_cache import listing_cached
from marketplace.models import Checkout, Order, OrderStatus, Product


class ProductOutputSerializer(serializers.ModelSerializer[Product]):
    seller_id = serializers.IntegerField()
    seller_name = serializers.CharField(source="seller.business_name")
    seller_colour = serializers.CharField(source="seller.primary_colour")
    tax_rate = serializers.SerializerMethodField()

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
            "seller_id",
            "seller_name",
            "seller_colour",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True))
    def get_tax_rate(self, product: Product) -> str | None:
        """Today's rate in the seller's country, for the product's category."""
        rate = selectors.product_domestic_rate(product=product, on=timezone.localdate())
        return None if rate is None else f"{rate:.2f}"


class CatalogListApi(generics.ListAPIView[Product]):
    """Active products of active sellers; public."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    serializer_class = ProductOutputSerializer

    class FilterSerializer(serializers.Serializer[None]):
        # Digits only, as given: no sign, no spaces, not blank.
        seller = serializers.RegexField(
            r"^\d+\Z",
            required=False,
            trim_whitespace=False,
            error_messages={"invalid": "Must be a seller id.", "blank": "Must be a seller id."},
        )

    def get_queryset(self) -> QuerySet[Product]:
        # A plain dict: given a QueryDict, DRF would read a blank value as "not given".
        query = self.FilterSerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        products = selectors.catalog_products()
        if "seller" in query.validated_data:
            products = products.filter(seller_id=int(query.validated_data["seller"]))
        return products

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = listing_cached(
            url=request.build_absolute_uri(),
            build=lambda: super(CatalogListApi, self).list(request, *args, **kwargs).data,
        )
        return Response(data)


class CatalogDetailApi(generics.RetrieveAPIView[Product]):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    serializer_class = ProductOutputSerializer

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.catalog_products()


class TokenLoginApi(ObtainAuthToken):
    """A user's API token for its username and password."""

    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]
    throttle_scope = "login"
    # ObtainAuthToken names DRF's JSON parser; ours refuses a too deeply nested body as bad input.
    parser_classes = (FormParser, MultiPartParser, JSONParser)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except serializers.ValidationError:
            # django-axes refused the login (this failure reached its limit, or the username
            # is locked out from here); it flags DRF's request, which its middleware never sees.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(wait=login_lockout_seconds()) from None
            raise


class BuyerRegisterApi(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "signup"

    class InputSerializer(serializers.Serializer[None]):
        username = serializers.CharField(max_length=150)
        email = serializers.EmailField()
        password = serializers.CharField(write_only=True)

    @extend_schema(request=InputSerializer, responses={201: None})
    def post(self, request: Request) -> Response:
        data = validated_input(self.InputSerializer, request)
        password_validate(**data)
        user = user_create(**data)
        return Response({"id": user.pk, "username": user.get_username()}, status=201)


class OrderLineOutputSerializer(serializers.Serializer[None]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    refunded_quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    total_net = serializers.DecimalField(max_digits=14, decimal_places=2)


class CartLineInputSerializer(serializers.Serializer[None]):
    product_id = serializers.IntegerField()
    quantity = serializers.IntegerField()


class BillingInputSerializer(serializers.Serializer[None]):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    address = serializers.CharField(max_length=200)
    post_code = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=2, min_length=2)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    vat_number = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    peppol_id = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    peppol_scheme_id = serializers.CharField(
        max_length=4, required=False, allow_blank=True, default=""
    )
    buyer_reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )


class CheckoutInputSerializer(serializers.Serializer[None]):
    lines = CartLineInputSerializer(many=True, allow_empty=True)
    billing = BillingInputSerializer()


class CheckoutOrderOutputSerializer(serializers.Serializer[Order]):
    """An order as checkout created it: no documents yet, so none are read. Declared field by
    field: a ModelSerializer would build its fields from the model on every answer."""

    id = serializers.IntegerField(read_only=True)
    seller_id = serializers.IntegerField()
    seller_name = serializers.CharField(source="seller.business_name")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField(max_length=3)
    transaction_type = serializers.CharField(max_length=16, allow_blank=True)
    reverse_charge = serializers.BooleanField()
    tax_note = serializers.CharField(max_length=300, allow_blank=True)
    # A plain field: a ChoiceField of countries would build 250 choices per order.
    billing_country = serializers.CharField()
    total_net = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_tax = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_gross = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = OrderLineOutputSerializer(many=True)


class CheckoutOutputSerializer(serializers.Serializer[dict[str, Any]]):
    checkout_id = serializers.IntegerField()
    orders = CheckoutOrderOutputSerializer(many=True)


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Up to 255 visible ASCII characters. A retry with the same key and body (same buyer) "
        "answers 200 with the checkout the first request placed, and places nothing; the key "
        "sent with a different body answers 422 `idempotency_key_reused`."
    ),
)
_IDEMPOTENCY_KEY_FORMAT = re.compile(r"[\x21-\x7e]{1,255}")


class CheckoutApi(APIView):
    """Check out a cart that may span sellers: one order per seller."""

    throttle_scope = "checkout"

    @extend_schema(
        request=CheckoutInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: CheckoutOutputSerializer,
            200: CheckoutOutputSerializer,
            422: OpenApiResponse(
                BAD_REQUEST, description="The Idempotency-Key was sent with another body."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        buyer = authenticated_user(request)
        token = _submission_token(request, buyer)
        data = validated_input(CheckoutInputSerializer, request)
        fingerprint = _request_fingerprint(data) if token else ""
        placed = (
            services.checkout_for_submission(
                submission_token=token, submission_fingerprint=fingerprint
            )
            if token
            else None
        )
        if placed is not None:
            return _checkout_response(placed, status.HTTP_200_OK)
        checkout = services.checkout_create(
            buyer=buyer,
            lines=[services.CartLine(**line) for line in data["lines"]],
            billing=services.BillingDetails(**data["billing"]),
            submission_token=token,
            submission_fingerprint=fingerprint,
        )
        return _checkout_response(checkout, status.HTTP_201_CREATED)


def _submission_token(request: Request, buyer: User) -> str | None:
    """The request's Idempotency-Key as a checkout's submission token, scoped to its buyer so
    one buyer's key never finds another's checkout."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY_FORMAT.fullmatch(key):
        raise ApplicationError("Use 1 to 255 visible ASCII characters.", field="Idempotency-Key")
    return f"api-{buyer.pk}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _request_fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 of the validated body as canonical JSON: the same request however its keys are
    ordered or spaced, with defaults filled in."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _checkout_response(checkout: Checkout, http_status: int) -> Response:
    body = {"checkout_id": checkout.pk, "orders": selectors.checkout_orders(checkout)}
    return Response(CheckoutOutputSerializer(body).data, status=http_status)


class VatCheckApi(APIView):
    """Immediate feedback on a buyer's VAT number at checkout (format, then VIES)."""

    throttle_scope = "checkout"

    class InputSerializer(serializers.Serializer[None]):
        seller_id = serializers.IntegerField()
        country = serializers.CharField(max_length=2, min_length=2)
        vat_number = serializers.CharField(max_length=30)

    class OutputSerializer(serializers.Serializer[None]):
        vat_number = serializers.CharField()
        vies_valid = serializers.BooleanField(allow_null=True)
        checked_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated_input(self.InputSerializer, request)
        seller = selectors.catalog_sellers().filter(pk=data["seller_id"]).first()
        if seller is None:
            raise serializers.ValidationError({"seller_id": ["Unknown seller."]})
        result = services.checkout_vat_check(
            seller=seller, country=data["country"], vat_number=data["vat_number"]
        )
        body = {
            "vat_number": result.vat_number,
            "vies_valid": result.vies.valid,
            "checked_at": result.vies.checked_at,
        }
        return Response(body)


def validated_input(
    serializer_class: type[serializers.Serializer[None]], request: Request
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
