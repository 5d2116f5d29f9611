"""Credit notes made in the seller's dashboard (mirrored by webhook, without lines) count by
amount: a later refund or cancel credits only what remains, and an invoice credited above its
total is flagged in admin and by reconciliation."""

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from invoicing import reconciliation, services
from invoicing.client import DocumentCreate, json_dumps
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.selectors import invoice_credit_balance
from marketplace import services as orders
from marketplace.models import TaxCategory
from marketplace.pricing import PricedLine, order_totals
from tests.factories import (
    BILLING,
    InvoiceFactory,
    ProductFactory,
    UserFactory,
    invoice_with_lines,
    seller_with_entity,
)
from tests.invoicing.test_corrections import _refund_giving_up
from tests.invoicing.test_webhooks import SECRET, body_of, deliver

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.SPACE_INVOICES_WEBHOOK_SECRET = SECRET
    settings.SPACE_INVOICES_WEBHOOK_TOLERANCE = 300


@pytest.fixture
def seller(sandbox):
    return seller_with_entity()


def invoiced_order(seller, callbacks, *lines):
    """A paid domestic order of ``(name, quantity, unit price, tax category)`` lines, its
    invoice issued."""
    cart = [
        orders.CartLine(
            ProductFactory(seller=seller, name=name, unit_price=price, tax_category=category).pk,
            quantity,
        )
        for name, quantity, price, category in lines
    ]
    billing = replace(BILLING, country=str(seller.country))
    checkout = orders.checkout_create(buyer=UserFactory(), lines=cart, billing=billing)
    order = checkout.orders.get()
    with callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    return order, Document.objects.get(order=order, kind=DocumentKind.INVOICE)


@pytest.fixture
def lamps(sandbox, django_capture_on_commit_callbacks):
    """A Dutch seller's 2 x 50.00 at 21 %: 100.00 + 21.00 = 121.00."""
    return invoiced_order(
        seller_with_entity(country="NL", tax_number="NL004495445B01"),
        django_capture_on_commit_callbacks,
        ("Lamp", 2, Decimal("50.00"), TaxCategory.STANDARD),
    )


@pytest.fixture
def mugs_and_honey(seller, django_capture_on_commit_callbacks):
    """3 x 12.99 at 22 % (38.97, tax 8.57) and 2 x 7.45 at 9.5 % (14.90, tax 1.42): 63.86."""
    return invoiced_order(
        seller,
        django_capture_on_commit_callbacks,
        ("Mug", 3, Decimal("12.99"), TaxCategory.STANDARD),
        ("Honey", 2, Decimal("7.45"), TaxCategory.REDUCED),
    )


def dashboard_credit_note(sandbox, invoice, *items, delivery_id="dlv_dashboard"):
    """The seller credits ``(name, net amount, rates)`` items in its dashboard; the
    ``credit_note.created`` webhook mirrors it (without lines)."""
    document = sandbox.client().credit_note_create(
        entity_id=invoice.entity_id,
        payload=DocumentCreate.model_validate(
            {
                "items": [
                    {
                        "name": name,
                        "quantity": 1,
                        "price": price,
                        "taxes": [{"rate": rate} for rate in rates],
                    }
                    for name, price, rates in items
                ],
                "linked_documents": [invoice.remote_id],
            }
        ),
        request_id=f"dashboard-{delivery_id}",
    )
    response = deliver(body_of("credit_note.created", document), delivery_id=delivery_id)
    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    credit_note = Document.objects.get(remote_id=document["id"])
    assert credit_note.lines.count() == 0
    return credit_note


def totals(document):
    document.refresh_from_db()
    return (document.total_net, document.total_tax, document.total_gross)


def last_credit_note(order):
    return Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).latest("pk")


def credit_notes_of(order):
    return list(
        Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE)
        .order_by("pk")
        .values_list("number", "state", "total_gross")
    )


def balance_lines(credit_note):
    return list(
        credit_note.lines.order_by("pk").values_list(
            "order_line_id", "name", "quantity", "unit_price", "tax_rate", "total_net"
        )
    )


# A cancel after a dashboard credit note credits what remains, by amount


def test_a_cancel_after_a_dashboard_credit_note_credits_exactly_what_remains(
    sandbox, lamps, django_capture_on_commit_callbacks
):
    order, invoice = lamps
    # 41.32 at 21 % -> 8.68: 50.00 of the invoice's 121.00
    dashboard = dashboard_credit_note(
        sandbox, invoice, ("Goodwill", Decimal("41.32"), [Decimal("21")])
    )
    assert totals(dashboard) == (Decimal("41.32"), Decimal("8.68"), Decimal("50.00"))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    ours = last_credit_note(order)
    # 121.00 - 50.00 = 71.00: 58.68 at 21 % -> 12.32
    assert totals(ours) == (Decimal("58.68"), Decimal("12.32"), Decimal("71.00"))
    assert (ours.state, ours.number, ours.credited_invoice_id) == (
        DocumentState.ISSUED,
        f"CN-{YEAR}-00002",
        invoice.pk,
    )
    name = f"Balance of invoice {YEAR}-00001 at 21.00 %"
    assert balance_lines(ours) == [
        (None, name, 1, Decimal("58.68"), Decimal("21.00"), Decimal("58.68"))
    ]
    remote = sandbox.client().credit_note_get(
        entity_id=ours.entity_id, credit_note_id=ours.remote_id
    )
    assert [(i["name"], i["quantity"], i["price"]) for i in remote["items"]] == [
        (name, 1, Decimal("58.68"))
    ]
    assert (remote["linked_documents"], remote["total_with_tax"]) == (
        [invoice.remote_id],
        Decimal("71.00"),
    )
    balance = invoice_credit_balance(invoice=invoice)
    assert (balance.credited_gross, balance.remaining_gross) == (
        Decimal("121.00"),
        Decimal("0.00"),
    )


def test_a_cancel_splits_what_remains_per_rate_of_a_multi_rate_invoice(
    sandbox, mugs_and_honey, django_capture_on_commit_callbacks
):
    order, invoice = mugs_and_honey
    assert totals(invoice) == (Decimal("53.87"), Decimal("9.99"), Decimal("63.86"))
    # 10.00 at 22 % -> 2.20: 12.20, all of it at the mugs' rate
    dashboard_credit_note(sandbox, invoice, ("Scratched mug", Decimal("10.00"), [Decimal("22")]))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    ours = last_credit_note(order)
    # 22 %: 38.97 - 10.00 = 28.97 -> 6.37; 9.5 %: 14.90 -> 1.42; 63.86 - 12.20 = 51.66
    assert balance_lines(ours) == [
        (None, f"Balance of invoice {YEAR}-00001 at 22.00 %", 1,
         Decimal("28.97"), Decimal("22.00"), Decimal("28.97")),
        (None, f"Balance of invoice {YEAR}-00001 at 9.50 %", 1,
         Decimal("14.90"), Decimal("9.50"), Decimal("14.90")),
    ]  # fmt: skip
    assert totals(ours) == (Decimal("43.87"), Decimal("7.79"), Decimal("51.66"))
    assert list(ours.taxes.values_list("rate", "base", "amount")) == [
        (Decimal("9.50"), Decimal("14.90"), Decimal("1.42")),
        (Decimal("22.00"), Decimal("28.97"), Decimal("6.37")),
    ]


def test_tax_rounding_leaves_the_balance_a_cent_under_never_above(
    sandbox, mugs_and_honey, django_capture_on_commit_callbacks
):
    order, invoice = mugs_and_honey
    # One mug credited in the dashboard: 12.99 at 22 % -> 2.86, 15.85; 48.01 remains.
    dashboard_credit_note(sandbox, invoice, ("Mug", Decimal("12.99"), [Decimal("22")]))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    # 25.98 at 22 % would be taxed 5.72 (the invoice's 8.57 less the dashboard's 2.86 is 5.71):
    # 48.02. The 22 % line is lowered to 25.97 (5.71): 48.00.
    ours = last_credit_note(order)
    assert [(rate, net) for _, _, _, net, rate, _ in balance_lines(ours)] == [
        (Decimal("22.00"), Decimal("25.97")),
        (Decimal("9.50"), Decimal("14.90")),
    ]
    assert totals(ours) == (Decimal("40.87"), Decimal("7.13"), Decimal("48.00"))
    balance = invoice_credit_balance(invoice=invoice)
    assert (balance.credited_gross, balance.remaining_gross) == (
        Decimal("63.85"),
        Decimal("0.01"),
    )


def test_dashboard_credit_at_no_rate_is_taken_from_the_highest_rate_first(
    sandbox, mugs_and_honey, django_capture_on_commit_callbacks
):
    order, invoice = mugs_and_honey
    dashboard = dashboard_credit_note(sandbox, invoice, ("Voucher", Decimal("10.00"), []))
    assert (totals(dashboard), dashboard.taxes.count()) == (
        (Decimal("10.00"), Decimal("0.00"), Decimal("10.00")),
        0,
    )

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    # 53.86 remains: 22 %: 38.97 - 8.20 = 30.77 -> 6.77; 9.5 %: 14.90 -> 1.42
    ours = last_credit_note(order)
    assert [(rate, net) for _, _, _, net, rate, _ in balance_lines(ours)] == [
        (Decimal("22.00"), Decimal("30.77")),
        (Decimal("9.50"), Decimal("14.90")),
    ]
    assert totals(ours) == (Decimal("45.67"), Decimal("8.19"), Decimal("53.86"))


def test_our_credit_note_still_on_its_way_counts_by_its_lines(
    sandbox, lamps, django_capture_on_commit_callbacks
):
    order, invoice = lamps
    lamp = order.lines.get()
    orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(lamp.pk, 1)])  # not sent
    pending = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    dashboard_credit_note(sandbox, invoice, ("Goodwill", Decimal("41.32"), [Decimal("21")]))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    cancel_note = last_credit_note(order)

    # 121.00 - 60.50 (pending, by its lines) - 50.00 = 10.50: 8.68 at 21 % -> 1.82
    assert totals(cancel_note) == (Decimal("8.68"), Decimal("1.82"), Decimal("10.50"))
    assert Document.objects.get(pk=pending.pk).state == DocumentState.PENDING


# A refund after a dashboard credit note must fit in what remains


def test_a_refund_worth_more_than_remains_is_refused_and_writes_nothing(
    sandbox, lamps, api_client, django_capture_on_commit_callbacks
):
    order, invoice = lamps
    lamp = order.lines.get()
    dashboard_credit_note(sandbox, invoice, ("Goodwill", Decimal("41.32"), [Decimal("21")]))
    api_client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    refund = {"lines": [{"line_id": lamp.pk, "quantity": 1}]}

    with django_capture_on_commit_callbacks(execute=True):
        first = api_client.post(f"/api/orders/{order.pk}/refund/", refund, format="json")
    before = credit_notes_of(order)
    second = api_client.post(f"/api/orders/{order.pk}/refund/", refund, format="json")

    assert first.status_code == 200, first.json()
    # 121.00 - 50.00 - 60.50 = 10.50 remains; one more lamp is 60.50
    assert (second.status_code, second.json()) == (
        400,
        {
            "detail": f"These lines credit 60.50 EUR, but only 10.50 EUR of invoice "
            f"{YEAR}-00001 remains to credit (credit notes made in Space Invoices count by "
            "amount).",
            "field": "lines",
            "code": "over_credit",
        },
    )
    assert (
        credit_notes_of(order)
        == before
        == [
            (f"CN-{YEAR}-00001", DocumentState.ISSUED, Decimal("50.00")),
            (f"CN-{YEAR}-00002", DocumentState.ISSUED, Decimal("60.50")),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)
    assert credit_notes_of(order)[-1] == (
        f"CN-{YEAR}-00003",
        DocumentState.ISSUED,
        Decimal("10.50"),
    )


def test_a_refund_is_refused_at_a_rate_the_dashboard_credited_in_full(
    sandbox, mugs_and_honey, django_capture_on_commit_callbacks
):
    order, invoice = mugs_and_honey
    mug, honey = order.lines.order_by("pk")
    # Both honeys credited in the dashboard: 14.90 at 9.5 % -> 1.42
    dashboard_credit_note(sandbox, invoice, ("Honey", Decimal("14.90"), [Decimal("9.5")]))

    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(honey.pk, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        mug_note = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug.pk, 1)])

    assert (refused.value.field, refused.value.code, refused.value.message) == (
        "lines",
        "over_credit",
        f"These lines credit 7.45 EUR net at 9.50 %, but only 0.00 EUR remains to credit at "
        f"that rate on invoice {YEAR}-00001 (credit notes made in Space Invoices count by "
        "amount).",
    )
    assert totals(mug_note) == (Decimal("12.99"), Decimal("2.86"), Decimal("15.85"))
    assert Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE).count() == 2


def test_a_voided_dashboard_credit_note_no_longer_counts(
    sandbox, lamps, django_capture_on_commit_callbacks
):
    order, invoice = lamps
    dashboard = dashboard_credit_note(
        sandbox, invoice, ("Goodwill", Decimal("41.32"), [Decimal("21")])
    )
    Document.objects.filter(pk=dashboard.pk).update(voided_at=timezone.now())  # as its webhook does

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    ours = last_credit_note(order)
    assert totals(ours) == (Decimal("100.00"), Decimal("21.00"), Decimal("121.00"))
    assert list(ours.lines.values_list("order_line_id", "quantity")) == [(order.lines.get().pk, 2)]


# Over-credited by the dashboard: flagged in reconciliation and admin


@pytest.fixture
def over_credited(sandbox, lamps, django_capture_on_commit_callbacks):
    """One lamp refunded by us (60.50), then 70.00 credited in the dashboard: 130.50."""
    order, invoice = lamps
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(order.lines.get().pk, 1)])
    # 57.85 at 21 % -> 12.15: 70.00
    dashboard_credit_note(sandbox, invoice, ("Refund", Decimal("57.85"), [Decimal("21")]))
    return order, invoice


def test_an_over_credited_invoice_is_a_reconciliation_finding(sandbox, over_credited):
    order, invoice = over_credited

    found = reconciliation.reconcile(client=sandbox.client())

    assert [(f.seller_id, f.kind, f.order_id, f.remote_id, f.detail) for f in found] == [
        (
            invoice.seller_id,
            "over_credited",
            order.pk,
            invoice.remote_id,
            f"{YEAR}-00001 of 121.00 EUR is credited 130.50 EUR, 9.50 EUR too much",
        )
    ]


def test_an_over_credited_invoice_is_filtered_and_warned_in_admin(
    client, over_credited, lamps, django_capture_on_commit_callbacks
):
    _, invoice = over_credited
    _, fine = invoiced_order(
        invoice.seller,
        django_capture_on_commit_callbacks,
        ("Lamp", 1, Decimal("50.00"), TaxCategory.STANDARD),
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = client.get("/admin/invoicing/document/", {"credit": "over"})
    page = client.get(f"/admin/invoicing/document/{invoice.pk}/change/")
    other = client.get(f"/admin/invoicing/document/{fine.pk}/change/")

    assert listed.status_code == 200
    assert [row.pk for row in listed.context["cl"].result_list] == [invoice.pk]
    warning = (
        "Over-credited: its credit notes credit 130.50 EUR, 9.50 EUR more than its total of "
        "121.00 EUR."
    )
    assert [str(m) for m in page.context["messages"]] == [warning]
    assert [str(m) for m in other.context["messages"]] == []


def test_nothing_more_is_credited_once_the_dashboard_took_it_all(
    over_credited, django_capture_on_commit_callbacks
):
    order, _ = over_credited
    before = credit_notes_of(order)

    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(order.lines.get().pk, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    assert (refused.value.field, refused.value.code) == ("lines", "over_credit")
    assert credit_notes_of(order) == before


# Whatever the dashboard credited first, ours never take more than remains


PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
RATES = st.sampled_from([Decimal("0.00"), Decimal("9.50"), Decimal("22.00")])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(st.integers(1, 5), PRICES, RATES), min_size=1, max_size=4),
    dashboard=st.lists(st.tuples(PRICES, st.none() | RATES), min_size=1, max_size=3),
    refunds=st.lists(
        st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=3),
        max_size=4,
    ),
)
def test_after_dashboard_credit_ours_never_take_more_than_remains(lines, dashboard, refunds):
    with transaction.atomic():
        invoice = invoice_with_lines(lines)
        for net, rate in dashboard:
            _mirrored_dashboard_credit_note(invoice, net, rate)
        before = invoice_credit_balance(invoice=invoice)
        refusals: list[str] = []
        for refund in refunds:
            invoiced = list(invoice.lines.order_by("pk"))
            credit = [
                services.CreditLine(invoiced[index % len(invoiced)].order_line_id, quantity)
                for index, quantity in refund
            ]
            try:
                services.credit_note_request(invoice=invoice, lines=credit)
            except ApplicationError as refusal:  # refusals are expected; only over-credits
                refusals.append(refusal.code)
        services.credit_note_for_remaining(invoice=invoice)

        ours = Document.objects.filter(credited_invoice=invoice).exclude(lines=None)
        credited_base: defaultdict[Decimal, Decimal] = defaultdict(Decimal)
        credited_gross = Decimal(0)
        for credit_note in ours.prefetch_related("lines"):
            priced = [
                PricedLine(ln.quantity, ln.unit_price, ln.tax_rate)
                for ln in credit_note.lines.all()
            ]
            credited_gross += order_totals(priced, "EUR").gross
            for line in credit_note.lines.all():
                credited_base[line.tax_rate] += line.total_net
        assert set(refusals) <= {"over_credit"}
        assert credited_gross <= before.remaining_gross
        for rate, base in credited_base.items():
            assert base <= before.remaining_base(rate)
        after = invoice_credit_balance(invoice=invoice)
        # What is left uncredited is rounding only: each note rounds each rate's tax on its own,
        # so a cent per rate can stay (0.03 at 22 % and 2 x 1.08 at 9.5 % less two dashboard
        # notes of 0.01, one per rate, leave 0.02: found by this test).
        rates = {rate for _, _, rate in lines}
        assert after.remaining_gross <= Decimal("0.01") * len(rates)
        transaction.set_rollback(True)


def _mirrored_dashboard_credit_note(invoice, net, rate):
    """As the credit_note.created webhook mirrors it: totals and tax summary, no lines."""
    tax = Decimal("0.00") if rate is None else order_totals([PricedLine(1, net, rate)], "EUR").tax
    credit_note = InvoiceFactory(
        order=invoice.order,
        kind=DocumentKind.CREDIT_NOTE,
        credited_invoice=invoice,
        number=f"CN-{net}-{rate}-{Document.objects.count()}",
        total_net=net,
        total_tax=tax,
        total_gross=net + tax,
    )
    credit_note.lines.all().delete()
    if rate is not None:
        credit_note.taxes.create(rate=rate, base=net, amount=tax)


def test_a_balance_credit_note_is_frozen_when_written(
    sandbox, lamps, django_capture_on_commit_callbacks
):
    order, invoice = lamps
    dashboard_credit_note(sandbox, invoice, ("Goodwill", Decimal("41.32"), [Decimal("21")]))

    with django_capture_on_commit_callbacks(execute=False):
        orders.order_cancel(order_id=order.pk)

    ours = last_credit_note(order)
    assert (ours.state, ours.first_sent_at) == (DocumentState.PENDING, None)
    assert ours.payload == json_dumps(services.document_payload(ours))
    payload = services.document_payload(ours).body()
    assert (payload["items"], payload["expected_total_with_tax"]) == (
        [
            {
                "name": f"Balance of invoice {YEAR}-00001 at 21.00 %",
                "quantity": 1,
                "price": Decimal("58.68"),
                "taxes": [{"rate": Decimal("21.00")}],
            }
        ],
        Decimal("71.00"),
    )


def test_retrying_a_credit_note_proven_absent_after_a_dashboard_credit_note_is_refused(
    sandbox, settings, mugs_and_honey, django_capture_on_commit_callbacks
):
    """Refund 2 mugs (31.70): it gives up and is proven absent; meanwhile the seller credits
    40.00 + 8.80 in its dashboard, so 15.06 of the invoice's 63.86 remains."""
    order, invoice = mugs_and_honey
    absent = _refund_giving_up(
        sandbox, settings, order, django_capture_on_commit_callbacks, error_rate=1
    )
    services.document_find_remote(invoice_id=absent.pk)
    dashboard_credit_note(sandbox, invoice, ("Goodwill", Decimal("40.00"), [Decimal("22")]))

    with (
        django_capture_on_commit_callbacks(execute=True) as queued,
        pytest.raises(ApplicationError) as refused,
    ):
        services.document_retry(invoice_id=absent.pk)

    assert (refused.value.field, refused.value.code, refused.value.message) == (
        "lines",
        "over_credit",
        f"Credit note #{absent.pk} (failed) no longer fits in what remains to credit: These "
        f"lines credit 31.70 EUR, but only 15.06 EUR of invoice {YEAR}-00001 remains to credit "
        "(credit notes made in Space Invoices count by amount).",
    )
    absent.refresh_from_db()
    assert (absent.state, queued) == (DocumentState.FAILED, [])
    assert credit_notes_of(order) == [
        ("", DocumentState.FAILED, None),
        (f"CN-{YEAR}-00001", DocumentState.ISSUED, Decimal("48.80")),
    ]
