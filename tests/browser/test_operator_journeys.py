"""Operators in /admin/, in a real browser: onboarding a seller, retrying a failed invoice."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from invoicing.models import Document, DocumentState
from marketplace import services as orders
from sellers.models import Seller, SellerStatus
from tests.conftest import Sandbox
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator(admin_login: Callable[[User], None]) -> User:
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    admin_login(user)
    return user


def test_operator_adds_a_seller_which_becomes_active_with_its_entity(
    page: Page, operator: User, sandbox: Sandbox, screenshot: Callable[..., object]
) -> None:
    page.goto("/admin/sellers/seller/add/")
    page.get_by_role("textbox", name="Business name").fill("Alpine Crafts d.o.o.")
    page.get_by_role("textbox", name="Email").fill("billing@alpine.example")
    page.get_by_role("textbox", name="Address").fill("Trubarjeva 1")
    page.get_by_role("textbox", name="Post code").fill("1000")
    page.get_by_role("textbox", name="City").fill("Ljubljana")
    page.get_by_role("combobox", name="Country").select_option(label="Slovenia")
    page.get_by_role("textbox", name="Tax number").fill("SI 5022 3054")
    page.get_by_role("textbox", name="Invoice footer").fill("Thank you for buying local.")
    screenshot("form")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("ul.messagelist")).to_have_text(
        "Seller Alpine Crafts d.o.o. created; its Space Invoices entity is being created."
    )
    seller = Seller.objects.get()
    assert seller.status == SellerStatus.ACTIVE
    assert seller.tax_number == "SI50223054"
    assert seller.entity_id is not None
    row = page.get_by_role("row").filter(has_text="Alpine Crafts d.o.o.")
    expect(row.locator("td.field-status")).to_have_text("Active")
    expect(row.locator("td.field-entity_id")).to_have_text(seller.entity_id)
    screenshot()
    entity = sandbox.client().entity_get(entity_id=seller.entity_id)
    assert entity["name"] == "Alpine Crafts d.o.o."
    assert entity["metadata"] == {"seller_id": str(seller.pk)}
    assert entity["settings"]["document_footer"] == "Thank you for buying local."


def test_operator_retries_a_failed_invoice_which_ends_issued_with_a_number(
    page: Page,
    operator: User,
    sandbox: Sandbox,
    screenshot: Callable[..., object],
    live_url: Callable[[str], str],
    settings: Settings,
) -> None:
    # One attempt, so the outage fails the row at once: eager Celery has no retry countdown.
    settings.INVOICE_MAX_ATTEMPTS = 1
    invoice = _invoice_failed_by_an_outage(sandbox)
    assert invoice.last_error == (
        "gave up after 1 attempts: 503 service_unavailable: injected fault: try again"
    )

    page.goto("/admin/")
    expect(page.locator('#dashboard-documents td[data-count="failed"]')).to_have_text("1")
    expect(page.locator("#dashboard-recent-failed")).to_contain_text(invoice.last_error)
    screenshot("dashboard")
    page.locator("#dashboard-documents").get_by_role("link", name="Failed", exact=True).click()
    expect(page).to_have_url(live_url("/admin/invoicing/document/?state__exact=failed"))
    row = page.get_by_role("row").filter(has_text=f"Invoice #{invoice.pk} (failed)")
    expect(row).to_contain_text(invoice.last_error)
    screenshot("failed")
    row.get_by_role("checkbox").check()
    retry = "Retry issuing the selected failed documents"
    page.get_by_role("combobox", name="Action").select_option(label=retry)
    page.get_by_role("button", name="Go", exact=True).click()
    _confirm_if_asked(page, screenshot)

    expect(page.locator("ul.messagelist")).to_have_text("1 document queued for retry.")
    invoice.refresh_from_db()
    assert invoice.state == DocumentState.ISSUED
    number = f"{timezone.localdate().year}-00001"
    assert invoice.number == number
    assert invoice.last_error == ""
    assert invoice.total_gross == Decimal("31.70")
    entity_invoices = list(sandbox.client().invoice_iter(entity_id=invoice.entity_id))
    assert [document["number"] for document in entity_invoices] == [number]
    page.locator("#changelist-filter").get_by_role("link", name="Issued", exact=True).click()
    expect(page.get_by_role("row").filter(has_text=number)).to_contain_text("Issued")
    screenshot()


def _invoice_failed_by_an_outage(sandbox: Sandbox) -> Document:
    """An order paid while Space Invoices answers 503 to everything, so its invoice row uses
    its attempts and is marked failed; then the outage ends."""
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=2)],
        billing=BILLING,
    )
    with sandbox.http() as http:
        assert http.post("/sandbox/faults", json={"error_rate": 1}).status_code == 200
        orders.order_mark_paid(order_id=checkout.orders.get().pk)
        assert http.post("/sandbox/faults", json={}).status_code == 200
    invoice = Document.objects.get()
    assert invoice.state == DocumentState.FAILED
    assert list(sandbox.client().invoice_iter(entity_id=invoice.entity_id)) == []
    return invoice


def _confirm_if_asked(page: Page, screenshot: Callable[..., object]) -> None:
    """Admin actions may ask for confirmation on a page of their own before they run."""
    if page.locator("#changelist-form").count() == 0:
        screenshot("confirmation")
        page.locator("#content form [type=submit]").first.click()
