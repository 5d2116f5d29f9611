"""A new seller signs up, completes the onboarding wizard, previews its invoices and is approved
by an operator in admin, in a real browser, with a full-page screenshot of each step.

Each step is a small function taking the page, so a later journey (adding products, selling)
can start from an approved seller: ``approved_seller(...)`` runs them all.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.models import AuditEvent
from sellers.models import Seller, SellerStatus
from tests.conftest import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Screenshot = Callable[..., Path]
PASSWORD = "correct-horse-battery"  # what UserFactory sets
SELLER_PASSWORD = "a-long-seller-password"
IBAN = "SI56263300012039086"
PREVIEW_CASES = ["domestic", "eu_business", "eu_consumer", "outside_eu"]


def sign_up(page: Page, screenshot: Screenshot, *, username: str = "alpine") -> Seller:
    page.goto("/seller/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(SELLER_PASSWORD)
    page.get_by_label("Billing email").fill(f"{username}@alpine.example")
    page.get_by_label("Legal name").fill("Alpine Crafts d.o.o.")
    page.get_by_label("Address").fill("Trubarjeva 1")
    page.get_by_label("Post code").fill("1000")
    page.get_by_label("City").fill("Ljubljana")
    page.get_by_label("Country").select_option("SI")
    page.get_by_label("VAT number").fill("SI 5022 3054")
    page.get_by_label("Company registration number").fill("6543210000")
    screenshot("1-signup")
    page.get_by_test_id("signup-submit").click()
    expect(page.get_by_test_id("messages")).to_contain_text("Your account is ready.")
    return Seller.objects.get(users__user__username=username)


def add_bank_account(page: Page, screenshot: Screenshot) -> None:
    page.goto("/seller/onboarding/bank/")
    page.get_by_label("IBAN").fill("SI56 2633 0001 2039 087")  # one digit wrong
    page.get_by_test_id("step-submit").click()
    expect(page.get_by_test_id("error-iban")).to_have_text(
        "'SI56 2633 0001 2039 087' is not a valid IBAN."
    )
    screenshot("2-bank-refused")
    page.get_by_label("IBAN").fill("SI56 2633 0001 2039 086")
    page.get_by_label("BIC").fill("SKBASI2X")
    page.get_by_test_id("step-submit").click()
    expect(page.get_by_test_id("messages")).to_contain_text("Bank account saved.")


def brand(page: Page, screenshot: Screenshot, logo: Path) -> None:
    page.goto("/seller/onboarding/branding/")
    page.get_by_label("Brand colour").fill("#FFD700")
    page.get_by_label("Logo").set_input_files(str(logo))
    page.get_by_label("Document footer").fill("Alpine Crafts, handmade in Ljubljana")
    page.get_by_test_id("step-submit").click()
    expect(page.get_by_test_id("messages")).to_contain_text("Branding saved.")
    page.goto("/seller/onboarding/branding/")
    # Black text on gold: the readable one (white would be 1.4:1).
    expect(page.get_by_test_id("brand-sample")).to_have_css("color", "rgb(0, 0, 0)")
    expect(page.get_by_test_id("brand-logo")).to_be_visible()
    screenshot("3-branding")


def set_invoicing(page: Page, screenshot: Screenshot) -> None:
    page.goto("/seller/onboarding/invoicing/")
    page.get_by_label("Invoice point").select_option("paid")
    page.get_by_label("Continue my invoice numbers from").fill("431")
    page.get_by_label("Default note").fill("Thank you for buying handmade.")
    page.get_by_label("Payment terms").fill("Paid by card at checkout.")
    screenshot("4-invoicing")
    page.get_by_test_id("step-submit").click()
    expect(page.get_by_test_id("messages")).to_contain_text("Invoicing settings saved.")


def preview_invoices(page: Page, screenshot: Screenshot) -> None:
    page.goto("/seller/onboarding/preview/")
    links = page.get_by_test_id("previews").get_by_role("link")
    expect(links).to_have_count(len(PREVIEW_CASES))
    screenshot("5-preview")
    for case in PREVIEW_CASES:
        answer = page.request.get(f"/seller/onboarding/preview/{case}.pdf")
        assert answer.status == 200, case
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.body().startswith(b"%PDF-")


def awaits_approval(page: Page, screenshot: Screenshot) -> None:
    page.goto("/seller/onboarding/status/")
    expect(page.get_by_test_id("status-panel")).to_have_attribute(
        "data-status", "awaiting_approval"
    )
    screenshot("6-awaiting-approval")


def approve_in_admin(operator_page: Page, screenshot: Screenshot, seller: Seller) -> None:
    operator_page.goto(f"/admin/sellers/seller/{seller.pk}/change/")
    operator_page.get_by_test_id("seller-approve").click()
    expect(operator_page.get_by_test_id("approval-summary")).to_contain_text(IBAN)
    expect(operator_page.get_by_test_id("approval-summary")).to_contain_text("confirmed by VIES")
    _save(operator_page, screenshot, "7-operator-approval")
    operator_page.get_by_test_id("approval-submit").click()
    expect(operator_page.locator("ul.messagelist")).to_contain_text("approved: it is active")


def is_live(page: Page, screenshot: Screenshot) -> None:
    page.goto("/seller/onboarding/status/")
    expect(page.get_by_test_id("status-panel")).to_have_attribute("data-status", "active")
    screenshot("8-active")


def approved_seller(page: Page, operator_page: Page, screenshot: Screenshot, logo: Path) -> Seller:
    """The whole journey: a signed-up, set-up, previewed and approved seller, its admin
    logged in on `page`."""
    seller = sign_up(page, screenshot)
    add_bank_account(page, screenshot)
    brand(page, screenshot, logo)
    set_invoicing(page, screenshot)
    preview_invoices(page, screenshot)
    awaits_approval(page, screenshot)
    approve_in_admin(operator_page, screenshot, seller)
    is_live(page, screenshot)
    return Seller.objects.get(pk=seller.pk)


def _save(page: Page, screenshot: Screenshot, label: str) -> None:
    """A screenshot of another page than the test's own (the operator's)."""
    path = screenshot(label)
    page.screenshot(path=path, full_page=True)


def test_a_new_seller_signs_up_sets_up_previews_and_is_approved(
    page: Page,
    operator_page: Page,
    screenshot: Screenshot,
    sandbox: Sandbox,
    logo: Path,
    settings,
    tmp_path: Path,
):
    settings.MEDIA_ROOT = tmp_path / "media"

    seller = approved_seller(page, operator_page, screenshot, logo)

    assert seller.status == SellerStatus.ACTIVE
    assert (seller.iban, seller.bic, seller.invoice_number_start) == (IBAN, "SKBASI2X", 431)
    entity = sandbox.client().entity_get(entity_id=seller.entity_id)
    assert entity["settings"]["primary_color"] == "#FFD700"
    assert entity["settings"]["has_logo"] is True
    assert entity["settings"]["number_sequence_starts"] == {"invoice": 431}
    assert list(
        AuditEvent.objects.filter(seller_id=seller.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "seller.onboarded",
        "seller.awaiting_approval",
        "seller.bank_account_updated",
        "seller.branding_updated",
        "seller.invoicing_settings_updated",
        "seller.approved",
    ]
