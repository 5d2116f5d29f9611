"""Seller onboarding: by an operator, or by the seller signing up itself."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sellers import services
from sellers.models import Seller
from sellers.selectors import seller_for_user


class SellerDetailsInputSerializer(serializers.Serializer[None]):
    business_name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=200)
    post_code = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=2, min_length=2)
    email = serializers.EmailField()
    tax_number = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    is_tax_subject = serializers.BooleanField(required=False, default=True)
    primary_colour = serializers.RegexField(r"^#[0-9A-Fa-f]{6}$", required=False, default="#1A73E8")
    invoice_footer = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class SellerSignupInputSerializer(SellerDetailsInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(min_length=8, write_only=True)


class SellerOutputSerializer(serializers.ModelSerializer[Seller]):
    country = serializers.CharField()

    class Meta:
        model = Seller
        fields = [
            "id",
            "business_name",
            "address",
            "post_code",
            "city",
            "country",
            "tax_number",
            "is_tax_subject",
            "email",
            "primary_colour",
            "invoice_footer",
            "status",
            "entity_id",
            "entity_error",
            "created_at",
        ]


class SellerListCreateApi(generics.ListAPIView[Seller]):
    """Operators list sellers and onboard new ones."""

    permission_classes = [IsAdminUser]
    serializer_class = SellerOutputSerializer

    def get_queryset(self) -> QuerySet[Seller]:
        return Seller.objects.all()

    @extend_schema(request=SellerDetailsInputSerializer, responses={201: SellerOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SellerDetailsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seller = services.seller_onboard(
            details=services.SellerDetails(**serializer.validated_data)
        )
        return Response(SellerOutputSerializer(seller).data, status=status.HTTP_201_CREATED)


class SellerDetailApi(generics.RetrieveAPIView[Seller]):
    permission_classes = [IsAdminUser]
    serializer_class = SellerOutputSerializer
    queryset = Seller.objects.all()


class SellerSignupApi(APIView):
    """A seller signs up: its admin user and the seller, written together or not at all."""

    permission_classes = [AllowAny]

    @extend_schema(request=SellerSignupInputSerializer, responses={201: SellerOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SellerSignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        username, password = data.pop("username"), data.pop("password")
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise serializers.ValidationError({"username": ["This username is taken."]})
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=data["email"], password=password
            )
            seller = services.seller_onboard(
                details=services.SellerDetails(**data), admin_user=user
            )
        return Response(SellerOutputSerializer(seller).data, status=status.HTTP_201_CREATED)


class SellerMeApi(APIView):
    """The requesting user's own seller."""

    @extend_schema(responses=SellerOutputSerializer)
    def get(self, request: Request) -> Response:
        seller = seller_for_user(request.user)
        if seller is None:
            raise PermissionDenied("This user does not belong to a seller.")
        return Response(SellerOutputSerializer(seller).data)
