"""Seller onboarding (by an operator, or by the seller signing up itself) and the seller's staff.
(The seller's embedded dashboard, a Space Invoices key, is invoicing.api.SellerDashboardApi.)"""

import logging
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import authenticated_user
from core.openapi import APPLICATION_ERROR
from core.permissions import operator_permission
from sellers import onboarding, setup, staff
from sellers.models import Seller, SellerKind, SellerRole, SellerUser
from sellers.permissions import IsSellerAdmin, IsSellerMember
from sellers.selectors import seller_for_user, seller_user_list

logger = logging.getLogger(__name__)


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
    company_number = serializers.CharField(
        max_length=50, required=False, allow_blank=True, default=""
    )
    # The IBAN and BIC are checked by the service (schwifty), which names the field.
    iban = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    bic = serializers.CharField(max_length=15, required=False, allow_blank=True, default="")
    invoice_note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    payment_terms = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    invoice_number_start = serializers.IntegerField(
        min_value=1, max_value=10**9, required=False, allow_null=True, default=None
    )


class SellerRejectInputSerializer(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=500)


class SellerSignupInputSerializer(SellerDetailsInputSerializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    # The service checks it with the site's password validators.
    password = serializers.CharField(write_only=True)


class SellerDac7InputSerializer(serializers.Serializer[None]):
    """What DAC7 reporting collects; only the fields sent change (blank clears one)."""

    seller_kind = serializers.ChoiceField(choices=SellerKind.choices, allow_blank=True)
    first_name = serializers.CharField(max_length=100, allow_blank=True)
    last_name = serializers.CharField(max_length=100, allow_blank=True)
    date_of_birth = serializers.DateField(allow_null=True)
    tin = serializers.CharField(max_length=40, allow_blank=True)
    tin_country = serializers.CharField(max_length=2, allow_blank=True)
    business_registration_number = serializers.CharField(max_length=50, allow_blank=True)
    iban = serializers.CharField(max_length=50, allow_blank=True)


class SellerOutputSerializer(serializers.ModelSerializer[Seller]):
    country = serializers.CharField()
    tin_country = serializers.CharField()

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
            *onboarding.DAC7_FIELDS,
            "bic",
            "invoice_note",
            "payment_terms",
            "invoice_number_start",
            "vies_valid",
            "status",
            "approved_at",
            "rejection_reason",
            "entity_id",
            "entity_error",
            "created_at",
        ]


class SellerListCreateApi(generics.ListAPIView[Seller]):
    """Operators list sellers and onboard new ones."""

    permission_classes = [operator_permission("sellers.view_seller", POST=("sellers.add_seller",))]
    serializer_class = SellerOutputSerializer

    def get_queryset(self) -> QuerySet[Seller]:
        return Seller.objects.all()

    @extend_schema(request=SellerDetailsInputSerializer, responses={201: SellerOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SellerDetailsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seller = onboarding.seller_onboard(
            details=onboarding.SellerDetails(**serializer.validated_data),
            actor=authenticated_user(request),
        )
        return Response(SellerOutputSerializer(seller).data, status=status.HTTP_201_CREATED)


class SellerDetailApi(generics.RetrieveAPIView[Seller]):
    """Operators read a seller and change what DAC7 reporting collects of it."""

    permission_classes = [
        operator_permission(
            "sellers.view_seller", PATCH=("sellers.view_seller", "sellers.change_seller")
        )
    ]
    serializer_class = SellerOutputSerializer
    queryset = Seller.objects.all()

    @extend_schema(request=SellerDac7InputSerializer, responses=SellerOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        seller = _dac7_update(request, self.get_object())
        return Response(SellerOutputSerializer(seller).data)


class SellerApproveApi(APIView):
    """An operator approves a seller awaiting approval (audited); 409 in any other status."""

    permission_classes = [operator_permission("sellers.change_seller")]

    @extend_schema(
        request=None,
        responses={
            200: SellerOutputSerializer,
            409: OpenApiResponse(APPLICATION_ERROR, description="Not awaiting approval."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        seller = onboarding.seller_approve(
            seller=get_object_or_404(Seller, pk=pk), actor=authenticated_user(request)
        )
        return Response(SellerOutputSerializer(seller).data)


class SellerRejectApi(APIView):
    """An operator rejects a seller awaiting approval with a reason (audited)."""

    permission_classes = [operator_permission("sellers.change_seller")]

    @extend_schema(
        request=SellerRejectInputSerializer,
        responses={
            200: SellerOutputSerializer,
            409: OpenApiResponse(APPLICATION_ERROR, description="Not awaiting approval."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = SellerRejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seller = onboarding.seller_reject(
            seller=get_object_or_404(Seller, pk=pk),
            actor=authenticated_user(request),
            reason=serializer.validated_data["reason"],
        )
        return Response(SellerOutputSerializer(seller).data)


class SellerSignupApi(APIView):
    """A seller signs up: its admin user and the seller, written together or not at all."""

    permission_classes = [AllowAny]
    throttle_scope = "signup"

    @extend_schema(request=SellerSignupInputSerializer, responses={201: SellerOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SellerSignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        username, password = data.pop("username"), data.pop("password")
        seller = onboarding.seller_signup(
            username=username, password=password, details=onboarding.SellerDetails(**data)
        )
        return Response(SellerOutputSerializer(seller).data, status=status.HTTP_201_CREATED)


class SellerMeApi(APIView):
    """The requesting user's own seller."""

    def get_permissions(self) -> list[BasePermission]:
        # Every member reads it; its admins change what DAC7 reporting collects.
        return [IsSellerAdmin() if self.request.method == "PATCH" else IsSellerMember()]

    @extend_schema(responses=SellerOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(SellerOutputSerializer(_member_seller(request)).data)

    @extend_schema(request=SellerDac7InputSerializer, responses=SellerOutputSerializer)
    def patch(self, request: Request) -> Response:
        seller = _dac7_update(request, _member_seller(request))
        return Response(SellerOutputSerializer(seller).data)


class SellerBusinessDetailsInputSerializer(serializers.Serializer[None]):
    business_name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=200)
    post_code = serializers.CharField(max_length=20)
    city = serializers.CharField(max_length=100)
    tax_number = serializers.CharField(max_length=30, allow_blank=True)
    is_tax_subject = serializers.BooleanField()
    company_number = serializers.CharField(max_length=50, allow_blank=True)


class SellerBankAccountInputSerializer(serializers.Serializer[None]):
    iban = serializers.CharField(max_length=50, allow_blank=True)
    bic = serializers.CharField(max_length=15, allow_blank=True, required=False, default="")


class SellerBrandingInputSerializer(serializers.Serializer[None]):
    # Checked by the service, which names the field: a colour, a PNG or JPEG within the limit.
    primary_colour = serializers.CharField(max_length=20)
    invoice_footer = serializers.CharField(
        max_length=500, allow_blank=True, required=False, default=""
    )
    logo = serializers.FileField(required=False, allow_null=True, default=None)


class SellerInvoicingSettingsInputSerializer(serializers.Serializer[None]):
    invoice_trigger = serializers.CharField(max_length=10, allow_blank=True)
    invoice_number_start = serializers.IntegerField(allow_null=True)
    invoice_note = serializers.CharField(max_length=500, allow_blank=True)
    payment_terms = serializers.CharField(max_length=500, allow_blank=True)


class SellerSetupApi(APIView):
    """A seller admin completes its set-up: each PUT is one step of the onboarding wizard,
    through the same service as its page; a refusal is a 400 naming the field."""

    permission_classes = [IsSellerAdmin]
    input_serializer: type[serializers.Serializer[None]]

    def save(self, *, seller: Seller, request: Request, data: dict[str, Any]) -> Seller:
        raise NotImplementedError

    def put(self, request: Request) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        seller = self.save(
            seller=_member_seller(request), request=request, data=dict(serializer.validated_data)
        )
        return Response(SellerOutputSerializer(seller).data)


class SellerBusinessDetailsApi(SellerSetupApi):
    input_serializer = SellerBusinessDetailsInputSerializer

    @extend_schema(request=SellerBusinessDetailsInputSerializer, responses=SellerOutputSerializer)
    def put(self, request: Request) -> Response:
        return super().put(request)

    def save(self, *, seller: Seller, request: Request, data: dict[str, Any]) -> Seller:
        return setup.seller_business_details_update(
            seller=seller, actor=authenticated_user(request), **data
        )


class SellerBankAccountApi(SellerSetupApi):
    input_serializer = SellerBankAccountInputSerializer

    @extend_schema(request=SellerBankAccountInputSerializer, responses=SellerOutputSerializer)
    def put(self, request: Request) -> Response:
        return super().put(request)

    def save(self, *, seller: Seller, request: Request, data: dict[str, Any]) -> Seller:
        return setup.seller_bank_account_update(
            seller=seller, actor=authenticated_user(request), **data
        )


class SellerBrandingApi(SellerSetupApi):
    input_serializer = SellerBrandingInputSerializer

    @extend_schema(request=SellerBrandingInputSerializer, responses=SellerOutputSerializer)
    def put(self, request: Request) -> Response:
        return super().put(request)

    def save(self, *, seller: Seller, request: Request, data: dict[str, Any]) -> Seller:
        return setup.seller_branding_update(
            seller=seller, actor=authenticated_user(request), **data
        )


class SellerInvoicingSettingsApi(SellerSetupApi):
    input_serializer = SellerInvoicingSettingsInputSerializer

    @extend_schema(request=SellerInvoicingSettingsInputSerializer, responses=SellerOutputSerializer)
    def put(self, request: Request) -> Response:
        return super().put(request)

    def save(self, *, seller: Seller, request: Request, data: dict[str, Any]) -> Seller:
        return setup.seller_invoicing_settings_update(
            seller=seller, actor=authenticated_user(request), **data
        )


class SellerUserOutputSerializer(serializers.ModelSerializer[SellerUser]):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    mirror_state = serializers.CharField(source="entity_user_state")
    mirror_error = serializers.CharField(source="entity_user_error")

    class Meta:
        model = SellerUser
        fields = [
            "id",
            "username",
            "email",
            "role",
            "entity_user_id",
            "mirror_state",
            "mirror_error",
            "created_at",
        ]


class SellerUserCreateInputSerializer(serializers.Serializer[None]):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)
    role = serializers.ChoiceField(choices=SellerRole.choices)


class SellerUserRoleInputSerializer(serializers.Serializer[None]):
    role = serializers.ChoiceField(choices=SellerRole.choices)


class SellerUserListCreateApi(generics.ListAPIView[SellerUser]):
    """A seller admin lists its seller's members and adds new ones."""

    permission_classes = [IsSellerAdmin]
    serializer_class = SellerUserOutputSerializer

    def get_queryset(self) -> QuerySet[SellerUser]:
        return seller_user_list(_member_seller(self.request))

    @extend_schema(
        request=SellerUserCreateInputSerializer, responses={201: SellerUserOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = SellerUserCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = staff.seller_user_add(
            seller=_member_seller(request),
            actor=authenticated_user(request),
            **serializer.validated_data,
        )
        return Response(SellerUserOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class SellerUserDetailApi(APIView):
    """A seller admin changes a member's role or removes the member."""

    permission_classes = [IsSellerAdmin]

    @extend_schema(request=SellerUserRoleInputSerializer, responses=SellerUserOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        serializer = SellerUserRoleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = staff.seller_user_role_change(
            seller_user=_member(request, pk),
            role=serializer.validated_data["role"],
            actor=authenticated_user(request),
        )
        return Response(SellerUserOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        staff.seller_user_remove(
            seller_user=_member(request, pk), actor=authenticated_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _dac7_update(request: Request, seller: Seller) -> Seller:
    serializer = SellerDac7InputSerializer(data=request.data, partial=True)
    serializer.is_valid(raise_exception=True)
    return onboarding.seller_dac7_details_update(
        seller=seller, changes=dict(serializer.validated_data), actor=authenticated_user(request)
    )


def _member_seller(request: Request) -> Seller:
    seller = seller_for_user(request.user)
    assert seller is not None  # a seller permission let the request in
    return seller


def _member(request: Request, pk: int) -> SellerUser:
    """A member of the requesting user's seller; another seller's member is a 404."""
    return get_object_or_404(seller_user_list(_member_seller(request)), pk=pk)
