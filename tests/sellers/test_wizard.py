"""Seller sign-up and onboarding: the wizard's pages and the API, through the same services.
Bad input is refused next to its field (pages) or as a 400 naming it (API), writing nothing."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from core.errors import ApplicationError
from core.models import AuditEvent
from invoicing.seller_preview import preview_cases
from marketplace import services as orders
from marketplace.selectors import catalog_products, catalog_sellers
from sellers.models import Seller, SellerRole, SellerStatus, SellerUser
from tests.contract.test_preview_and_logo import pdf_header_text_colour, pdf_title
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
    operator_user,
)

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password"
SIGNUP = {
    "username": "alpine",
    "password": PASSWORD,
    "email": "billing@alpine.example",
    "business_name": "Alpine Crafts d.o.o.",
    "address": "Trubarjeva 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "tax_number": "SI50223054",
    "is_tax_subject": "on",
    "company_number": "6543210000",
}
# Valid by format and check digit, unknown to the sandbox's VIES.
UNREGISTERED_VAT = "SI12345679"
IBAN = "SI56263300012039086"


def png(size=(60, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 80, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def error_of(response, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}">([^<]*)<', response.content.decode())
    assert match is not None, f"no error next to {field}"
    return match.group(1)


@pytest.fixture
def browser(sandbox, django_capture_on_commit_callbacks):
    """A signed-up seller's admin, logged in, its entity created (awaiting approval)."""
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/seller/signup/", SIGNUP)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/seller/onboarding/bank/"
    return client


def seller() -> Seller:
    return Seller.objects.get()


# Sign-up


def test_signup_page_makes_the_seller_its_admin_and_the_entity_awaiting_approval(browser, sandbox):
    made = seller()
    membership = SellerUser.objects.select_related("user").get()
    assert (membership.user.username, membership.role) == ("alpine", SellerRole.ADMIN)
    assert made.status == SellerStatus.AWAITING_APPROVAL
    assert made.business_registration_number == "6543210000"
    assert made.vies_valid is True
    entity = sandbox.client().entity_get(entity_id=made.entity_id)
    assert entity["company_number"] == "6543210000"
    assert entity["tax_number"] == "SI50223054"
    page = browser.get("/seller/onboarding/status/")
    assert page.status_code == 200
    assert 'data-status="awaiting_approval"' in page.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"tax_number": "SI50223055"},
            "tax_number",
            "&#x27;SI50223055&#x27; is not a valid tax number for SI.",
        ),
        (
            {"tax_number": UNREGISTERED_VAT},
            "tax_number",
            f"VIES does not know &#x27;{UNREGISTERED_VAT}&#x27; as a registered VAT number: "
            "check the number, or leave it out if you are not registered for VAT.",
        ),
        ({"country": "XX"}, "country", None),
    ],
)
def test_a_signup_with_a_bad_vat_number_is_refused_next_to_it_and_writes_nothing(
    sandbox, change, field, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = Client().post("/seller/signup/", {**SIGNUP, **change})

    assert response.status_code == 400
    if message is not None:
        assert error_of(response, field) == message
    else:
        error_of(response, field)
    assert Seller.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert callbacks == []


def test_vies_down_accepts_the_number_by_format_and_says_so(
    sandbox, django_capture_on_commit_callbacks
):
    sandbox.faults(vies_unavailable=True)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/seller/signup/", SIGNUP, follow=True)

    assert response.status_code == 200
    assert "VIES could not be reached to confirm your VAT number." in response.content.decode()
    assert seller().vies_valid is None
    assert seller().tax_number == "SI50223054"


def test_the_api_signup_refuses_a_vat_number_vies_does_not_know_and_a_bad_iban(api_client, sandbox):
    body = {**SIGNUP, "is_tax_subject": True}
    vies = api_client.post(
        "/api/sellers/signup/", {**body, "tax_number": UNREGISTERED_VAT}, format="json"
    )
    iban = api_client.post(
        "/api/sellers/signup/", {**body, "iban": "SI56263300012039087"}, format="json"
    )
    logo_colour = api_client.post(
        "/api/sellers/signup/", {**body, "primary_colour": "blue"}, format="json"
    )

    assert (vies.status_code, vies.json()["field"]) == (400, "tax_number")
    assert (iban.status_code, iban.json()) == (
        400,
        {
            "detail": "'SI56263300012039087' is not a valid IBAN.",
            "field": "iban",
            "code": "invalid",
        },
    )
    assert (logo_colour.status_code, logo_colour.json()["field"]) == (400, "primary_colour")
    assert Seller.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_the_api_signup_sends_bank_account_and_invoicing_settings_to_the_entity(
    api_client, sandbox, django_capture_on_commit_callbacks
):
    body = {
        **SIGNUP,
        "is_tax_subject": True,
        "iban": "SI56 2633 0001 2039 086",
        "bic": "SKBASI2X",
        "invoice_note": "Thank you for buying local.",
        "payment_terms": "Pay within 8 days.",
        "invoice_number_start": 120,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/sellers/signup/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["iban"] == IBAN
    settings = sandbox.client().entity_get(entity_id=seller().entity_id)["settings"]
    assert settings["bank_accounts"] == [
        {"type": "iban", "name": "Alpine Crafts d.o.o.", "iban": IBAN, "bic": "SKBASI2X"}
    ]
    assert settings["default_invoice_note"] == "Thank you for buying local."
    assert settings["default_invoice_payment_terms"] == "Pay within 8 days."
    assert settings["number_sequence_starts"] == {"invoice": 120}


def test_with_approval_switched_off_a_signup_goes_live_with_its_entity(
    api_client, sandbox, settings, django_capture_on_commit_callbacks
):
    settings.SELLER_APPROVAL_REQUIRED = False
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/sellers/signup/", {**SIGNUP, "is_tax_subject": True}, format="json"
        )

    assert response.status_code == 201
    assert seller().status == SellerStatus.ACTIVE
    assert seller().approval_required is False


# The wizard's steps


def test_business_details_step_saves_and_the_entity_follows(
    browser, sandbox, django_capture_on_commit_callbacks
):
    details = {
        "business_name": "Alpine Crafts Ljubljana d.o.o.",
        "address": "Čopova 3",
        "post_code": "1000",
        "city": "Ljubljana",
        "tax_number": "SI50223054",
        "is_tax_subject": "on",
        "company_number": "1112223000",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/seller/onboarding/details/", details)

    assert response.status_code == 302
    assert response["Location"] == "/seller/onboarding/bank/"
    entity = sandbox.client().entity_get(entity_id=seller().entity_id)
    assert (entity["name"], entity["address"], entity["company_number"]) == (
        "Alpine Crafts Ljubljana d.o.o.",
        "Čopova 3",
        "1112223000",
    )
    assert AuditEvent.objects.filter(action="seller.details_updated").count() == 1


def test_bank_step_refuses_a_bad_iban_next_to_it_and_keeps_the_old_one(
    browser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        good = browser.post("/seller/onboarding/bank/", {"iban": IBAN, "bic": ""})
    with django_capture_on_commit_callbacks() as callbacks:
        bad = browser.post("/seller/onboarding/bank/", {"iban": "DE00123", "bic": ""})

    assert good.status_code == 302
    assert bad.status_code == 400
    assert error_of(bad, "iban") == "&#x27;DE00123&#x27; is not a valid IBAN."
    assert seller().iban == IBAN
    assert callbacks == []
    assert AuditEvent.objects.filter(action="seller.bank_account_updated").count() == 1


@pytest.mark.parametrize(
    ("upload", "colour", "field", "message"),
    [
        (
            SimpleUploadedFile("logo.png", b"<svg>not a png</svg>", content_type="image/png"),
            "#0B3D91",
            "logo",
            "The logo is not an image: upload a PNG or JPEG.",
        ),
        (
            SimpleUploadedFile("logo.png", png((3000, 3000)) + b"\0" * 600_000),
            "#0B3D91",
            "logo",
            "The logo is larger than 512 KB: upload a smaller image.",
        ),
        (
            None,
            "dark blue",
            "primary_colour",
            "&#x27;dark blue&#x27; is not a colour: use a hex colour such as #1A73E8.",
        ),
    ],
)
def test_branding_step_refuses_a_bad_logo_or_colour_and_writes_nothing(
    browser, upload, colour, field, message, django_capture_on_commit_callbacks
):
    before = seller()
    data = {"primary_colour": colour, "invoice_footer": "Footer"}
    if upload is not None:
        data["logo"] = upload
    with django_capture_on_commit_callbacks() as callbacks:
        response = browser.post("/seller/onboarding/branding/", data)

    assert response.status_code == 400
    assert error_of(response, field) == message
    after = seller()
    assert (after.primary_colour, after.invoice_footer, after.logo.name) == (
        before.primary_colour,
        before.invoice_footer,
        "",
    )
    assert callbacks == []


def test_branding_step_sends_colour_and_logo_and_the_invoices_show_them(
    browser, sandbox, django_capture_on_commit_callbacks, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    data = {
        "primary_colour": "#ffd700",
        "invoice_footer": "Alpine Crafts, Ljubljana",
        "logo": SimpleUploadedFile("logo.png", png()),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/seller/onboarding/branding/", data)

    assert response.status_code == 302
    assert seller().primary_colour == "#FFD700"
    entity = sandbox.client().entity_get(entity_id=seller().entity_id)
    assert entity["settings"]["primary_color"] == "#FFD700"
    assert entity["settings"]["has_logo"] is True
    pdf = browser.get("/seller/onboarding/preview/domestic.pdf")
    assert pdf.status_code == 200
    assert b"/Subtype /Image" in pdf.content
    # Black text on the yellow header (white would be 1.4:1).
    assert pdf_header_text_colour(pdf.content) == "1 0.8431 0 / 0 g"
    page = browser.get("/seller/onboarding/branding/").content.decode()
    assert "--seller-colour: #FFD700; --seller-text: #000000" in page


def test_invoicing_step_continues_the_number_sequence_in_the_preview(
    browser, django_capture_on_commit_callbacks
):
    data = {
        "invoice_trigger": "fulfilled",
        "invoice_number_start": "431",
        "invoice_note": "Thank you.",
        "payment_terms": "Pay within 8 days.",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/seller/onboarding/invoicing/", data)
    with django_capture_on_commit_callbacks() as callbacks:
        refused = browser.post(
            "/seller/onboarding/invoicing/", {**data, "invoice_number_start": "0"}
        )

    assert response.status_code == 302
    made = seller()
    assert (made.invoice_trigger, made.invoice_number_start) == ("fulfilled", 431)
    assert refused.status_code == 400
    assert error_of(refused, "invoice_number_start") == "Give a number from 1 to 1000000000."
    assert callbacks == []
    pdf = browser.get("/seller/onboarding/preview/domestic.pdf").content
    year = made.created_at.year
    assert pdf_title(pdf) == f"Preview: Invoice {year}-00431 - Alpine Crafts d.o.o."
    # The preview used no number: the next one still is 431.
    assert pdf_title(browser.get("/seller/onboarding/preview/domestic.pdf").content) == (
        f"Preview: Invoice {year}-00431 - Alpine Crafts d.o.o."
    )


def test_preview_lists_each_vat_case_and_renders_each(browser):
    page = browser.get("/seller/onboarding/preview/").content.decode()
    cases = re.findall(r'data-testid="preview-([a-z_]+)"', page)

    assert cases == ["domestic", "eu_business", "eu_consumer", "outside_eu"]
    for case in cases:
        response = browser.get(f"/seller/onboarding/preview/{case}.pdf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
    assert browser.get("/seller/onboarding/preview/nowhere.pdf").status_code == 404


def test_a_seller_that_is_not_a_tax_subject_has_no_reverse_charge_preview(
    sandbox, django_capture_on_commit_callbacks
):
    client = Client()
    body = {key: value for key, value in SIGNUP.items() if key != "is_tax_subject"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/seller/signup/", {**body, "tax_number": ""})
    page = client.get("/seller/onboarding/preview/").content.decode()

    assert re.findall(r'data-testid="preview-([a-z_]+)"', page) == [
        "domestic",
        "eu_consumer",
        "outside_eu",
    ]


def test_a_failed_entity_shows_its_reason_and_retries(
    browser, sandbox, django_capture_on_commit_callbacks
):
    Seller.objects.update(
        status=SellerStatus.FAILED, entity_id=None, entity_error="422 validation_error: name: bad"
    )
    page = browser.get("/seller/onboarding/status/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        retried = browser.post("/seller/onboarding/retry/")

    assert "The invoicing service refused your details (name: bad)." in page
    assert 'data-testid="status-retry"' in page
    assert retried.status_code == 302
    assert seller().status == SellerStatus.AWAITING_APPROVAL
    assert seller().entity_id is not None


# Operator approval


def test_operator_approves_in_admin_and_the_seller_goes_live(browser, client):
    client.force_login(
        operator_user("sellers.view_seller", "sellers.change_seller", username="operator")
    )
    made = seller()
    change = client.get(f"/admin/sellers/seller/{made.pk}/change/").content.decode()
    confirm = client.get(f"/admin/sellers/seller/{made.pk}/approve/")
    approved = client.post(f"/admin/sellers/seller/{made.pk}/approve/")
    again = client.post(f"/admin/sellers/seller/{made.pk}/approve/", follow=True)

    assert 'data-testid="seller-approve"' in change
    assert confirm.status_code == 200
    assert approved.status_code == 302
    assert seller().status == SellerStatus.ACTIVE
    assert seller().approved_at is not None
    event = AuditEvent.objects.get(action="seller.approved")
    assert (event.seller_id, event.actor.username) == (made.pk, "operator")
    assert "Only a seller awaiting approval can be approved; this one is active." in (
        again.content.decode()
    )
    status = browser.get("/seller/onboarding/status/").content.decode()
    assert 'data-status="active"' in status


def test_operator_rejects_with_a_reason_the_seller_reads(browser, client):
    client.force_login(
        operator_user("sellers.view_seller", "sellers.change_seller", username="operator")
    )
    made = seller()
    empty = client.post(f"/admin/sellers/seller/{made.pk}/reject/", {"reason": "  "})
    rejected = client.post(
        f"/admin/sellers/seller/{made.pk}/reject/", {"reason": "Your VAT number is not yours."}
    )

    assert empty.status_code == 400
    assert "This field is required." in empty.content.decode()
    assert rejected.status_code == 302
    assert (seller().status, seller().rejection_reason) == (
        SellerStatus.REJECTED,
        "Your VAT number is not yours.",
    )
    event = AuditEvent.objects.get(action="seller.rejected")
    assert event.detail == {"reason": "Your VAT number is not yours."}
    status = browser.get("/seller/onboarding/status/").content.decode()
    assert "Reason: Your VAT number is not yours." in status


def test_the_api_approves_and_rejects_only_a_seller_awaiting_approval(browser, api_client):
    api_client.force_authenticate(operator_user("sellers.change_seller"))
    made = seller()
    no_reason = api_client.post(f"/api/sellers/{made.pk}/reject/", {}, format="json")
    approved = api_client.post(f"/api/sellers/{made.pk}/approve/")
    late = api_client.post(f"/api/sellers/{made.pk}/reject/", {"reason": "x"}, format="json")

    assert (no_reason.status_code, no_reason.json()["field"]) == (400, "reason")
    assert (approved.status_code, approved.json()["status"]) == (200, "active")
    assert (late.status_code, late.json()["field"]) == (409, "status")
    assert seller().status == SellerStatus.ACTIVE
    assert list(
        AuditEvent.objects.filter(action__in=["seller.approved", "seller.rejected"]).values_list(
            "action", flat=True
        )
    ) == ["seller.approved"]


def test_a_seller_awaiting_approval_is_not_on_sale(browser):
    product = ProductFactory(seller=seller())

    assert list(catalog_sellers()) == []
    assert product not in catalog_products()


# The wizard's steps through the API (a seller admin)


@pytest.fixture
def seller_api(browser, api_client):
    api_client.force_authenticate(SellerUser.objects.get().user)
    return api_client


def test_the_api_steps_save_like_the_pages_and_refuse_naming_the_field(
    seller_api, sandbox, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        bank = seller_api.put("/api/seller/bank-account/", {"iban": IBAN}, format="json")
        branding = seller_api.put(
            "/api/seller/branding/",
            {"primary_colour": "#0b3d91", "logo": SimpleUploadedFile("logo.png", png())},
            format="multipart",
        )
        invoicing = seller_api.put(
            "/api/seller/invoicing-settings/",
            {
                "invoice_trigger": "paid",
                "invoice_number_start": 7,
                "invoice_note": "",
                "payment_terms": "Pay within 8 days.",
            },
            format="json",
        )

    assert (bank.status_code, bank.json()["iban"]) == (200, IBAN)
    assert (branding.status_code, branding.json()["primary_colour"]) == (200, "#0B3D91")
    assert (invoicing.status_code, invoicing.json()["invoice_number_start"]) == (200, 7)
    entity = sandbox.client().entity_get(entity_id=seller().entity_id)
    assert entity["settings"]["has_logo"] is True
    assert entity["settings"]["number_sequence_starts"] == {"invoice": 7}

    with django_capture_on_commit_callbacks() as callbacks:
        refusals = [
            seller_api.put("/api/seller/bank-account/", {"iban": "SI00"}, format="json"),
            seller_api.put(
                "/api/seller/branding/",
                {"primary_colour": "#0B3D91", "logo": SimpleUploadedFile("l.png", b"GIF89a")},
                format="multipart",
            ),
            seller_api.put("/api/seller/branding/", {"primary_colour": "nope"}, format="json"),
            seller_api.put(
                "/api/seller/business-details/",
                {
                    "business_name": "Alpine",
                    "address": "Trubarjeva 1",
                    "post_code": "1000",
                    "city": "Ljubljana",
                    "tax_number": UNREGISTERED_VAT,
                    "is_tax_subject": True,
                    "company_number": "",
                },
                format="json",
            ),
        ]

    assert [(r.status_code, r.json()["field"]) for r in refusals] == [
        (400, "iban"),
        (400, "logo"),
        (400, "primary_colour"),
        (400, "tax_number"),
    ]
    assert callbacks == []
    unchanged = seller()
    assert (unchanged.iban, unchanged.primary_colour, unchanged.tax_number) == (
        IBAN,
        "#0B3D91",
        "SI50223054",
    )


def test_the_api_lists_and_renders_the_previews(seller_api):
    listed = seller_api.get("/api/seller/previews/")
    pdf = seller_api.get("/api/seller/previews/eu_business/")
    missing = seller_api.get("/api/seller/previews/elsewhere/")

    assert [(p["case"], p["url"]) for p in listed.json()] == [
        ("domestic", "/api/seller/previews/domestic/"),
        ("eu_business", "/api/seller/previews/eu_business/"),
        ("eu_consumer", "/api/seller/previews/eu_consumer/"),
        ("outside_eu", "/api/seller/previews/outside_eu/"),
    ]
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf_title(pdf.content).startswith("Preview: Invoice ")
    assert missing.status_code == 404


def test_only_a_seller_admin_uses_the_setup_api(browser, api_client):
    viewer = SellerUserFactory(seller=seller(), role=SellerRole.VIEWER).user
    api_client.force_authenticate(viewer)

    assert api_client.put("/api/seller/bank-account/", {"iban": IBAN}).status_code == 403
    assert api_client.get("/api/seller/previews/").status_code == 403
    assert seller().iban == ""


def test_a_signed_up_seller_sells_nothing_before_approval_even_while_pending(browser):
    product = ProductFactory(seller=seller())
    for status in (SellerStatus.PENDING, SellerStatus.AWAITING_APPROVAL):
        Seller.objects.update(status=status)
        with pytest.raises(ApplicationError) as refused:
            orders.checkout_create(
                buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
            )
        assert refused.value.field == "lines[0].product_id"
    assert product.seller.orders.count() == 0


def test_clearing_the_bank_account_and_terms_clears_them_on_the_entity(
    seller_api, sandbox, django_capture_on_commit_callbacks
):
    settings_body = {
        "invoice_trigger": "",
        "invoice_number_start": None,
        "invoice_note": "Thank you.",
        "payment_terms": "Pay within 8 days.",
    }
    with django_capture_on_commit_callbacks(execute=True):
        seller_api.put("/api/seller/bank-account/", {"iban": IBAN}, format="json")
        seller_api.put("/api/seller/invoicing-settings/", settings_body, format="json")
    filled = sandbox.client().entity_get(entity_id=seller().entity_id)["settings"]
    with django_capture_on_commit_callbacks(execute=True):
        seller_api.put("/api/seller/bank-account/", {"iban": ""}, format="json")
        seller_api.put(
            "/api/seller/invoicing-settings/",
            {**settings_body, "invoice_note": "", "payment_terms": ""},
            format="json",
        )
    cleared = sandbox.client().entity_get(entity_id=seller().entity_id)["settings"]

    assert [account["iban"] for account in filled["bank_accounts"]] == [IBAN]
    assert (filled["default_invoice_note"], filled["default_invoice_payment_terms"]) == (
        "Thank you.",
        "Pay within 8 days.",
    )
    assert cleared["bank_accounts"] == []
    assert (cleared["default_invoice_note"], cleared["default_invoice_payment_terms"]) == (
        None,
        None,
    )


@pytest.mark.parametrize("operator_country", ["", "SI"])
def test_a_seller_outside_the_eu_previews_no_eu_consumer_sale_the_operator_would_invoice(
    settings, operator_country
):
    settings.OPERATOR_COUNTRY = operator_country
    seller = SellerFactory(country="US", tax_number="", is_tax_subject=True)

    # Its goods sold to an EU consumer are the marketplace's deemed supply (Art. 14a).
    assert [case.key for case in preview_cases(seller)] == ["domestic", "outside_eu"]
