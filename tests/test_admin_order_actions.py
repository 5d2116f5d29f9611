"""Operators' actions on one order in admin (record a payment with its reference, fulfil,
cancel, refund lines), each asked first, and the retry button on a failed document's page.
The list actions are in tests/test_admin_actions.py."""

from decimal import Decimal

import pytest

from core.models import AuditEvent
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from marketplace.models import Order, OrderStatus
from tests.factories import (
    BILLING,
    InvoiceFactory,
    ProductFactory,
    UserFactory,
    operator_user,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def operator(client, user):
    client.force_login(user)
    return client


def placed_order(quantity=2):
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, quantity)], billing=BILLING
    )
    return checkout.orders.get()


def action_url(order, action):
    return f"/admin/marketplace/order/{order.pk}/{action}/confirm/"


def test_the_order_page_links_its_actions(sandbox, operator):
    order = placed_order()

    page = operator.get(f"/admin/marketplace/order/{order.pk}/change/").content.decode()

    for action in ("pay", "fulfil", "cancel"):
        assert f'href="{action_url(order, action)}"' in page
    assert action_url(order, "refund") not in page  # not paid yet


def test_record_payment_needs_a_reference_asks_first_and_audits_it(
    sandbox, operator, user, django_capture_on_commit_callbacks
):
    order = placed_order()

    asked = operator.get(action_url(order, "pay"))
    blank = operator.post(action_url(order, "pay"), {"reference": ""})
    with django_capture_on_commit_callbacks(execute=True):
        done = operator.post(action_url(order, "pay"), {"reference": "SI56 transfer 2026-118"})

    assert asked.status_code == 200
    assert asked.context["title"] == f"Record a payment received for order {order.pk}?"
    assert blank.status_code == 400
    assert blank.context["form"].errors == {"reference": ["This field is required."]}
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    event = AuditEvent.objects.get(action="order.paid")
    assert (event.actor_id, event.detail) == (user.pk, {"reference": "SI56 transfer 2026-118"})
    assert Document.objects.get(order=order).state == DocumentState.ISSUED


def test_fulfil_and_cancel_ask_first_then_act_and_refuse_a_second_time(sandbox, operator):
    fulfilled, cancelled = placed_order(), placed_order()

    assert operator.get(action_url(fulfilled, "fulfil")).status_code == 200
    assert Order.objects.get(pk=fulfilled.pk).status == OrderStatus.PLACED
    assert operator.post(action_url(fulfilled, "fulfil")).status_code == 302
    assert operator.post(action_url(cancelled, "cancel")).status_code == 302
    again = operator.post(action_url(cancelled, "cancel"))

    assert Order.objects.get(pk=fulfilled.pk).status == OrderStatus.FULFILLED
    assert Order.objects.get(pk=cancelled.pk).status == OrderStatus.CANCELLED
    assert again.status_code == 400
    assert again.context["error"] == "A cancelled order cannot become cancelled."


def test_refund_shows_the_credit_note_then_refunds_and_refuses_more_than_remains(
    sandbox, operator, django_capture_on_commit_callbacks
):
    order = placed_order(quantity=2)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    line = order.lines.get()
    url = action_url(order, "refund")

    preview = operator.post(url, {f"line_{line.pk}": "1"})
    assert preview.context["preview"].total_gross == Decimal("12.20")
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        done = operator.post(url, {f"line_{line.pk}": "1", "confirm": "yes"})
    over = operator.post(url, {f"line_{line.pk}": "2"})

    assert done.status_code == 302
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert (credit_note.state, credit_note.total_gross) == (DocumentState.ISSUED, Decimal("12.20"))
    assert over.status_code == 400
    assert over.context["form"].errors == {
        f"line_{line.pk}": ["Only 1 of 2 can still be credited for 'Mug'."]
    }


def test_order_actions_need_their_permission(sandbox, client):
    order = placed_order()
    client.force_login(operator_user("marketplace.view_order"))

    assert client.post(action_url(order, "fulfil")).status_code == 403
    assert client.post(action_url(order, "pay"), {"reference": "x"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


def test_a_failed_documents_page_has_a_retry_button_that_asks_first(
    operator, user, django_capture_on_commit_callbacks
):
    failed = InvoiceFactory(
        state=DocumentState.FAILED, remote_id=None, number="", shareable_id="", last_error="422"
    )
    issued = InvoiceFactory()
    retry = f"/admin/invoicing/document/{failed.pk}/retry/"

    page = operator.get(f"/admin/invoicing/document/{failed.pk}/change/").content.decode()
    issued_page = operator.get(f"/admin/invoicing/document/{issued.pk}/change/").content.decode()
    asked = operator.get(retry)
    with django_capture_on_commit_callbacks() as callbacks:
        done = operator.post(retry)

    assert f'href="{retry}"' in page
    assert "/retry/" not in issued_page
    assert asked.status_code == 200
    assert asked.context["title"] == f"Retry document {failed.pk}?"
    assert done.status_code == 302
    assert Document.objects.get(pk=failed.pk).state == DocumentState.PENDING
    assert len(callbacks) == 1
    assert AuditEvent.objects.get(action="document.retried").actor_id == user.pk
