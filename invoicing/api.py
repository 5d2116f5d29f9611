"""Documents as their seller, their buyer and operators see them, and the seller's embedded
Space Invoices dashboard."""

import logging

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import authenticated_user
from core.errors import ApplicationError
from core.openapi import APPLICATION_ERROR
from invoicing import selectors, seller_entities, seller_preview, services
from invoicing.client import SpaceInvoicesError, Transient
from invoicing.models import Document, DocumentState
from sellers.models import Seller
from sellers.permissions import IsSellerAdmin
from sellers.selectors import seller_for_user

logger = logging.getLogger(__name__)


class InvoiceOutputSerializer(serializers.ModelSerializer[Document]):
    class Meta:
        model = Document
        fields = [
            "id",
            "order_id",
            "seller_id",
            "entity_id",
            "kind",
            "state",
            "remote_id",
            "credited_invoice_id",
            "transaction_type",
            "reverse_charge",
            "vies_valid",
            "vies_checked_at",
            "sent_at",
            "payment_recorded_at",
            "paid_at",
            "voided_at",
            "number",
            "date",
            "date_due",
            "currency",
            "total_net",
            "total_tax",
            "total_gross",
            "last_error",
            "created_at",
            "issued_at",
            "e_invoice_format",
        ]


class InvoiceDetailApi(generics.RetrieveAPIView[Document]):
    serializer_class = InvoiceOutputSerializer

    def get_queryset(self) -> QuerySet[Document]:
        return selectors.invoices_visible_to(self.request.user)


class InvoiceLinkApi(APIView):
    """The shareable link that opens the issued document (with its PDF) for the buyer."""

    class OutputSerializer(serializers.Serializer[None]):
        url = serializers.URLField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        invoice = get_object_or_404(selectors.invoices_visible_to(request.user), pk=pk)
        if invoice.state != DocumentState.ISSUED or not invoice.shareable_id:
            raise ApplicationError("The document is not issued yet.", field="state")
        return Response({"url": f"{settings.SPACE_INVOICES_SHARE_URL}{invoice.shareable_id}"})


class InvoicePdfApi(APIView):
    """The issued invoice or credit note as a PDF, for whoever may see its order."""

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = get_object_or_404(selectors.invoices_visible_to(request.user), pk=pk)
        pdf = services.document_pdf(invoice=invoice)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.pdf_filename()}"'
        return response


class InvoiceEInvoiceApi(APIView):
    """The issued invoice or credit note as an e-invoice (XML), for whoever may see its PDF:
    ``?e_format=ubl|xrechnung|zugferd`` (``format`` is DRF's own), by default the format it
    was issued in (else UBL)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("e_format", str, enum=["ubl", "xrechnung", "zugferd"], required=False)
        ],
        responses={(200, "application/xml"): bytes},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = get_object_or_404(selectors.invoices_visible_to(request.user), pk=pk)
        xml, filename = services.document_e_invoice(
            invoice=invoice, e_format=request.query_params.get("e_format", "")
        )
        response = HttpResponse(xml, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class SellerInvoiceListApi(generics.ListAPIView[Document]):
    """The documents of the requesting user's seller; the seller comes from the membership."""

    serializer_class = InvoiceOutputSerializer

    def get_queryset(self) -> QuerySet[Document]:
        seller = seller_for_user(self.request.user)
        if seller is None:
            raise PermissionDenied("Only seller users have seller documents.")
        return selectors.invoice_list_for_seller(seller)


class SellerDashboardApi(APIView):
    """A seller admin opens the seller's embedded Space Invoices dashboard with a fresh key."""

    permission_classes = [IsSellerAdmin]

    class OutputSerializer(serializers.Serializer[seller_entities.DashboardAccess]):
        entity_id = serializers.CharField()
        key = serializers.CharField()
        expires_at = serializers.DateTimeField()
        dashboard_url = serializers.URLField()

    @extend_schema(
        request=None,
        responses={
            201: OutputSerializer,
            409: OpenApiResponse(APPLICATION_ERROR, description="The entity does not exist yet."),
            502: OpenApiResponse(
                APPLICATION_ERROR, description="Space Invoices did not answer, or refused."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        seller = _member_seller(request)
        try:
            access = seller_entities.seller_dashboard_access(
                seller=seller, actor=authenticated_user(request)
            )
        except Transient:
            raise ApplicationError(
                "Space Invoices did not answer; try again in a minute.",
                code="space_invoices_unavailable",
                http_status=status.HTTP_502_BAD_GATEWAY,
            ) from None
        except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
            logger.warning("seller %s: dashboard key refused: %s", seller.pk, error)
            raise ApplicationError(
                "Space Invoices refused to open the dashboard; ask the marketplace's operators.",
                code="space_invoices_refused",
                http_status=status.HTTP_502_BAD_GATEWAY,
            ) from None
        response = Response(self.OutputSerializer(access).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


def _member_seller(request: Request) -> Seller:
    seller = seller_for_user(request.user)
    assert seller is not None  # a seller permission let the request in
    return seller


class SellerPreviewListApi(APIView):
    """The sample invoices a seller admin can preview: one per VAT case that applies to it."""

    permission_classes = [IsSellerAdmin]

    class OutputSerializer(serializers.Serializer[None]):
        case = serializers.CharField()
        title = serializers.CharField()
        url = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        cases = seller_preview.preview_cases(_member_seller(request))
        return Response(
            [
                {
                    "case": case.key,
                    "title": case.label,
                    "url": reverse("seller-preview", args=[case.key]),
                }
                for case in cases
            ]
        )


class SellerPreviewApi(APIView):
    """A sample invoice of the seller's own, as Space Invoices renders it (no number used)."""

    permission_classes = [IsSellerAdmin]

    @extend_schema(
        responses={
            (200, "application/pdf"): bytes,
            409: OpenApiResponse(APPLICATION_ERROR, description="The entity does not exist yet."),
            502: OpenApiResponse(APPLICATION_ERROR, description="Space Invoices did not render."),
        }
    )
    def get(self, request: Request, case: str) -> HttpResponse:
        try:
            pdf = seller_preview.seller_invoice_preview(
                seller=_member_seller(request), case_key=case
            )
        except SpaceInvoicesError:
            raise ApplicationError(
                "Space Invoices did not render the preview; try again in a minute.",
                code="space_invoices_unavailable",
                http_status=502,
            ) from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="sample-invoice-{case}.pdf"'
        return response
