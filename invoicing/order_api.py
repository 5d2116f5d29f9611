"""Orders in the API, as their buyer, their seller and operators see them: each with its
documents, so these views are invoicing's (the order domain's writes are marketplace.services)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import authenticated_user
from core.permissions import operator_permission
from invoicing.api import InvoiceOutputSerializer
from marketplace import refunds
from marketplace import selectors as order_selectors
from marketplace import services as orders
from marketplace.api import OrderLineOutputSerializer, validated_input
from marketplace.models import Order


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    checkout_id = serializers.IntegerField()
    seller_id = serializers.IntegerField()
    seller_name = serializers.CharField(source="seller.business_name")
    billing_country = serializers.CharField()
    lines = OrderLineOutputSerializer(many=True)
    documents = InvoiceOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "checkout_id",
            "seller_id",
            "seller_name",
            "status",
            "currency",
            "buyer_name",
            "buyer_email",
            "buyer_company",
            "buyer_vat_number",
            "transaction_type",
            "reverse_charge",
            "tax_note",
            "billing_address",
            "billing_post_code",
            "billing_city",
            "billing_country",
            "total_net",
            "total_tax",
            "total_gross",
            "placed_at",
            "paid_at",
            "fulfilled_at",
            "cancelled_at",
            "lines",
            "documents",
        ]


class RefundLineInputSerializer(serializers.Serializer[None]):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField()


class RefundInputSerializer(serializers.Serializer[None]):
    lines = RefundLineInputSerializer(many=True, allow_empty=False)


class OrderListApi(generics.ListAPIView[Order]):
    serializer_class = OrderOutputSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return order_selectors.orders_visible_to(self.request.user)


class OrderDetailApi(generics.RetrieveAPIView[Order]):
    serializer_class = OrderOutputSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return order_selectors.orders_visible_to(self.request.user)


class OrderPayApi(APIView):
    """An operator records a payment received outside any provider (a bank transfer); audited
    as `order.paid` by that operator. Buyers pay through the payment provider, never here."""

    permission_classes = [
        operator_permission("marketplace.view_order", "marketplace.record_order_payment")
    ]

    @extend_schema(request=None, responses=OrderOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(order_selectors.orders_visible_to(request.user), pk=pk)
        orders.order_mark_paid(order_id=order.pk, actor=authenticated_user(request))
        return _order_response(request, order.pk)


class OrderFulfilApi(APIView):
    @extend_schema(request=None, responses=OrderOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(order_selectors.orders_managed_by(request.user), pk=pk)
        orders.order_fulfil(order_id=order.pk, actor=authenticated_user(request))
        return _order_response(request, order.pk)


class OrderCancelApi(APIView):
    @extend_schema(request=None, responses=OrderOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(order_selectors.orders_cancellable_by(request.user), pk=pk)
        refunds.order_cancel_request(order_id=order.pk, actor=authenticated_user(request))
        return _order_response(request, order.pk)


class OrderRefundApi(APIView):
    """Refund quantities of order lines: a credit note once invoiced, else less to invoice."""

    @extend_schema(request=RefundInputSerializer, responses=OrderOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(order_selectors.orders_managed_by(request.user), pk=pk)
        data = validated_input(RefundInputSerializer, request)
        lines = [orders.RefundLine(**line) for line in data["lines"]]
        refunds.order_refund_request(
            order_id=order.pk, lines=lines, actor=authenticated_user(request)
        )
        return _order_response(request, order.pk)


def _order_response(request: Request, order_id: int) -> Response:
    order = order_selectors.orders_visible_to(request.user).get(pk=order_id)
    return Response(OrderOutputSerializer(order).data)
