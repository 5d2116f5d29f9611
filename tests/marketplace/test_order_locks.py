"""A transaction that changes an order locks its row (and its seller's) FOR NO KEY UPDATE: other
changes of the order wait, but rows that refer to it are still written, as their foreign-key
checks only share its key.

Locked FOR UPDATE, a refund's lock made the issue task's commit wait (its rows refer to the
order's seller), while the refund's credit note waited for the task's invoice: a deadlock."""

from collections.abc import Callable
from datetime import date

import pytest
from django.db import connection, transaction

from invoicing.distance_sales import distance_sales_lock
from marketplace import services
from marketplace.models import Order
from tests.factories import InvoiceFactory, OrderFactory
from tests.threads import in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def written_elsewhere(write: Callable[[], object]) -> list[BaseException]:
    """Run `write` on another connection, giving up on any lock after 3 s; what it raised."""

    def work() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        write()

    errors: list[BaseException] = []
    in_thread(work, errors).join()
    return errors


def test_a_document_of_an_order_locked_for_a_change_is_written_meanwhile():
    order = OrderFactory()

    with transaction.atomic():
        services._locked(order.pk)
        errors = written_elsewhere(lambda: InvoiceFactory(order=order))

    assert errors == []
    assert order.documents.count() == 1


def test_another_change_of_the_locked_order_waits_for_the_lock():
    order = OrderFactory()

    with transaction.atomic():
        services._locked(order.pk)
        errors = written_elsewhere(
            lambda: Order.objects.filter(pk=order.pk).update(buyer_reference="elsewhere")
        )

    assert [type(error).__name__ for error in errors] == ["OperationalError"]
    assert "lock timeout" in str(errors[0])


def test_an_order_of_a_seller_locked_for_its_distance_sales_is_written_meanwhile():
    order = OrderFactory()

    with transaction.atomic():
        distance_sales_lock(sellers=[order.seller], on=date(2026, 6, 15))
        errors = written_elsewhere(lambda: OrderFactory(seller=order.seller))

    assert errors == []
    assert Order.objects.filter(seller=order.seller).count() == 2
