"""Finance in /admin/reports/, in a real browser: every report link answers from the first
click, and the seller picker finds a seller by name.

The links are found on the pages, not listed here: a report added to the dashboard is followed
too, and so is every CSV download its page offers.
"""

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from invoicing.models import Document, DocumentTax
from reporting.services import rollup_document_issued
from sellers.models import Seller
from tests.factories import InvoiceFactory, OrderFactory, SellerFactory, operator_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# More would mean the crawl follows links without end (a report linking to itself with new
# parameters each time).
MAX_LINKS = 60


@pytest.fixture
def finance_operator(admin_login: Callable[[User], None]) -> User:
    """An operator who may read and download reports, and nothing else in admin."""
    user = operator_user("reporting.view_reports", "reporting.export_reports", username="finance")
    admin_login(user)
    return user


def _issued(seller: Seller, net: str, tax: str, *, country: str = "SI") -> Document:
    """An invoice of this year, counted where the reports read it (tax summary, rollup)."""
    order = OrderFactory(
        seller=seller,
        billing_country=country,
        total_net=Decimal(net),
        total_tax=Decimal(tax),
        total_gross=Decimal(net) + Decimal(tax),
        paid_at=timezone.now() - timedelta(seconds=3),
    )
    invoice: Document = InvoiceFactory(
        order=order,
        date=timezone.localdate(),
        issued_at=timezone.now(),
        seller_country=seller.country,
        buyer_country=country,
        transaction_type="domestic",
    )
    DocumentTax.objects.create(
        document=invoice, rate=Decimal("22.00"), base=invoice.total_net, amount=invoice.total_tax
    )
    rollup_document_issued(document=invoice)
    return invoice


@pytest.fixture
def sellers() -> dict[str, Seller]:
    alpine = SellerFactory(business_name="Alpine Crafts d.o.o.")
    bora = SellerFactory(business_name="Bora Textiles d.o.o.")
    _issued(alpine, "263.10", "57.88")
    _issued(alpine, "1000.00", "220.00")
    _issued(bora, "2.42", "0.53")
    return {"alpine": alpine, "bora": bora}


def _report_links(page: Page) -> list[str]:
    """The page's links to reports and their downloads (its content, not the breadcrumbs)."""
    hrefs: list[str] = page.locator("#content a[href^='/admin/reports/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    return hrefs


def test_every_report_link_from_the_dashboard_answers_without_an_error(
    page: Page,
    finance_operator: User,
    sellers: dict[str, Seller],
    live_url: Callable[[str], str],
) -> None:
    page.goto("/admin/")
    dashboard = page.locator("#dashboard-reports a[href^='/admin/reports/']")
    pending = [
        "/admin/reports/",
        *dashboard.evaluate_all("a => a.map(l => l.getAttribute('href'))"),
    ]
    pages, downloads = [], []
    while pending:
        href = pending.pop(0)
        if href in pages or href in downloads:
            continue
        assert len(pages) + len(downloads) < MAX_LINKS, pages + downloads
        if urlsplit(href).path.endswith(".csv"):
            downloads.append(href)
            answer = page.request.get(live_url(href))
            assert (answer.status, answer.headers["content-type"]) == (
                200,
                "text/csv; charset=utf-8",
            ), (href, answer.text())
        else:
            pages.append(href)
            response = page.goto(href)
            assert response is not None
            assert response.status == 200, (href, response.text())
            pending.extend(_report_links(page))

    paths = {urlsplit(href).path for href in pages + downloads}
    # What the dashboard offers today; reports added later are followed as well.
    assert {
        "/admin/reports/",
        "/admin/reports/statement/",
        "/admin/reports/summary/",
        "/admin/reports/vat/",
        "/admin/reports/health/",
        "/admin/reports/documents.csv",
        "/admin/reports/lines.csv",
        "/admin/reports/vat.csv",
        "/admin/reports/statement.csv",  # from a statement, reached from the summary's sellers
    } <= paths


def test_the_statement_asks_for_a_seller_found_by_name(
    page: Page,
    finance_operator: User,
    sellers: dict[str, Seller],
    live_url: Callable[[str], str],
    screenshot: Callable[..., object],
) -> None:
    alpine = sellers["alpine"]

    page.goto("/admin/reports/")
    page.locator("#report-pages").get_by_role("link", name="Seller statement").click()
    expect(page.locator("#statement-choose-seller")).to_have_text(
        "Choose a seller above for its statement."
    )
    page.locator("#id_seller + .select2").click()
    page.locator(".select2-search__field").fill("alpine")
    option = page.locator(".select2-results__option", has_text="Alpine Crafts d.o.o.")
    expect(option).to_have_text(f"Alpine Crafts d.o.o. (#{alpine.pk}, SI)")
    option.click()
    screenshot("picked")
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(re.compile(rf"[?&]seller={alpine.pk}(&|$)"))
    expect(page.locator("#statement-lines tbody tr")).to_have_text(
        re.compile(r"EUR\s*2\s*1,263.10\s*277.88\s*1,540.98\s*0\s*0.00")
    )
    expect(page.locator("#statement-documents tbody")).to_contain_text("263.10")
    expect(page.locator("#id_seller + .select2")).to_contain_text("Alpine Crafts d.o.o.")
    screenshot()
