"""The order domain's provider interface with the test provider: the same refund path as
Stripe's, confirmed at once (it moves no money), and no provider at all when payments are
offline."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from invoicing.models import Document, DocumentKind
from marketplace.models import Checkout, ProviderRefund, ProviderRefundStatus, SellerTransfer
from marketplace.payment_providers import TestProvider, online_provider
from tests.factories import operator_user
from tests.storefront.conftest import add, checkout_post, hidden_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_by_test_provider(client, products, django_capture_on_commit_callbacks):
    add(client, products["spoon"], 2)
    checkout_post(client, [(products["spoon"], 2, Decimal("14.90"))])
    checkout = Checkout.objects.get()
    html = client.get(f"/payment-provider/{checkout.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/payments/callback/", hidden_fields(html, "pay-button"))
    return checkout.orders.get()


def test_the_test_provider_sends_the_buyer_to_its_own_page(client, products):
    add(client, products["spoon"], 1)

    response = checkout_post(client, [(products["spoon"], 1, Decimal("14.90"))])

    checkout = Checkout.objects.get()
    assert isinstance(online_provider(), TestProvider)
    assert response["Location"] == f"/payment-provider/{checkout.public_id}/"


def test_offline_has_no_provider(settings):
    settings.PAYMENT_PROVIDER = "offline"

    assert online_provider() is None


def test_a_refund_of_a_test_provider_payment_is_confirmed_at_once_and_credited_once(
    paid_by_test_provider, django_capture_on_commit_callbacks
):
    order = paid_by_test_provider
    api = APIClient()
    api.force_authenticate(operator_user("marketplace.view_order", "marketplace.change_order"))
    body = {"lines": [{"line_id": order.lines.get().pk, "quantity": 1}]}

    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/orders/{order.pk}/refund/", body, format="json")
        second = api.post(f"/api/orders/{order.pk}/refund/", body, format="json")
        third = api.post(f"/api/orders/{order.pk}/refund/", body, format="json")

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 400)
    assert third.json()["detail"] == "Only 0 of 2 'Carved spoon' can still be refunded."
    refunds = list(ProviderRefund.objects.order_by("pk"))
    assert [(r.status, r.amount, r.provider_refund_id) for r in refunds] == [
        (ProviderRefundStatus.SUCCEEDED, Decimal("18.18"), f"test_{refunds[0].pk}"),
        (ProviderRefundStatus.SUCCEEDED, Decimal("18.18"), f"test_{refunds[1].pk}"),
    ]
    credit_notes = Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).order_by("pk")
    assert [c.total_gross for c in credit_notes] == [Decimal("18.18"), Decimal("18.18")]
    assert SellerTransfer.objects.count() == 0  # the test provider moves no money
