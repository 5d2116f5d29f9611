"""The e-invoicing readiness table (sellers.einvoicing): what it says per country and date, the
settings each seller's entity gets from it (on creation, and again when a mandate comes into
force), and the operator's view of every seller's readiness in admin."""

import datetime as dt

import pytest
from django.utils import timezone

from invoicing import seller_entities
from sellers import einvoicing
from sellers.einvoicing import Status
from sellers.models import Seller
from tests.factories import SellerFactory, SellerUserFactory, UserFactory, seller_with_entity

OFF = {
    "e_invoicing": {"enabled": False, "auto_send": False},
    "xrechnung": {"enabled": False},
    "zugferd": {"enabled": False},
}
TODAY = dt.date(2026, 12, 5)


@pytest.mark.parametrize(
    ("country", "on", "status", "settings", "buyer"),
    [
        (
            "BE", TODAY, Status.REQUIRED,
            OFF | {"e_invoicing": {"enabled": True, "auto_send": True}}, ("peppol_id",),
        ),
        (
            "BE", dt.date(2025, 12, 31), Status.UPCOMING,
            OFF | {"e_invoicing": {"enabled": True, "auto_send": False}}, (),
        ),
        (
            "DE", TODAY, Status.UPCOMING,
            OFF | {"xrechnung": {"enabled": True}, "zugferd": {"enabled": True}}, (),
        ),
        (
            "DE", dt.date(2027, 1, 1), Status.REQUIRED,
            OFF | {"xrechnung": {"enabled": True}, "zugferd": {"enabled": True}},
            ("buyer_reference",),
        ),
        ("PL", TODAY, Status.UNSUPPORTED, OFF, ()),
        ("IT", TODAY, Status.UNSUPPORTED, OFF, ()),
        (
            "SI", TODAY, Status.UPCOMING,
            OFF | {"e_invoicing": {"enabled": True, "auto_send": False}}, (),
        ),
        ("AT", TODAY, Status.NOT_REQUIRED, OFF, ()),
    ],
)  # fmt: skip
def test_the_table_per_country_and_date(country, on, status, settings, buyer):
    readiness = einvoicing.readiness(country, on, settings)

    assert readiness.status == status
    assert readiness.configured is True
    assert einvoicing.entity_settings(country, on) == settings
    assert einvoicing.buyer_requirements(country, on) == buyer
    assert einvoicing.readiness(country, on, None).configured is False


def test_every_row_names_its_source_and_a_known_format():
    assert dt.date(2026, 12, 5) == einvoicing.TABLE_DATE
    for country, mandate in einvoicing.MANDATES.items():
        assert mandate.country == country
        assert mandate.source.startswith("https://")
        assert set(mandate.formats) <= {"ubl", "xrechnung", "zugferd"}
        assert mandate.supported == bool(mandate.formats) or country == "FR"


@pytest.mark.django_db
def test_a_new_belgian_sellers_entity_gets_peppol_with_auto_send(sandbox, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    seller = seller_with_entity(country="BE", tax_number="BE0403019261")

    entity = sandbox.client().entity_get(entity_id=str(seller.entity_id))

    assert entity["settings"]["e_invoicing"] == {"enabled": True, "auto_send": True}
    assert entity["settings"]["xrechnung"] == {"enabled": False}
    assert entity["settings"]["zugferd"] == {"enabled": False}
    assert seller.e_invoicing_settings == einvoicing.entity_settings("BE", TODAY)
    readiness = einvoicing.readiness("BE", TODAY, seller.e_invoicing_settings)
    assert (readiness.status, readiness.configured) == (Status.REQUIRED, True)


@pytest.mark.django_db
def test_a_mandate_coming_into_force_updates_the_entity_once(
    sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    seller = seller_with_entity()  # Slovenia: Peppol from 2028
    untouched = seller_with_entity(country="AT", tax_number="ATU13585627")
    assert seller.e_invoicing_settings == OFF | {
        "e_invoicing": {"enabled": True, "auto_send": False}
    }
    assert seller_entities.seller_e_invoicing_sync() == []

    monkeypatch.setattr(timezone, "localdate", lambda *args: dt.date(2028, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        stale = seller_entities.seller_e_invoicing_sync()

    assert stale == [seller.pk]
    entity = sandbox.client().entity_get(entity_id=str(seller.entity_id))
    assert entity["settings"]["e_invoicing"] == {"enabled": True, "auto_send": True}
    assert Seller.objects.get(pk=seller.pk).e_invoicing_settings["e_invoicing"] == {
        "enabled": True,
        "auto_send": True,
    }
    assert Seller.objects.get(pk=untouched.pk).e_invoicing_settings == OFF
    assert seller_entities.seller_e_invoicing_sync() == []


@pytest.mark.django_db
def test_a_refused_update_leaves_the_seller_not_configured(sandbox, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    seller = SellerFactory(country="BE", tax_number="BE0403019261")  # no entity in the sandbox

    seller_entities.seller_entity_update(seller_id=seller.pk)

    seller.refresh_from_db()
    assert seller.e_invoicing_settings is None
    assert seller.entity_error.startswith("update refused:")
    assert einvoicing.readiness("BE", TODAY, seller.e_invoicing_settings).configured is False


@pytest.mark.django_db
def test_admin_lists_every_sellers_readiness(client, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    SellerFactory(business_name="Brussels Books", country="BE", tax_number="BE0403019261")
    SellerFactory(
        business_name="Berlin Bikes",
        country="DE",
        tax_number="DE136695976",
        e_invoicing_settings=einvoicing.entity_settings("DE", TODAY),
    )
    client.force_login(UserFactory(username="olga", is_staff=True, is_superuser=True))

    page = client.get("/admin/sellers/seller/").content.decode()

    assert "peppol: ubl from 2026-01-01 (required, not configured yet)" in page
    assert "email: xrechnung, zugferd from 2027-01-01 (upcoming, configured)" in page


@pytest.mark.django_db
def test_the_sellers_overview_shows_its_readiness(sandbox, client, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    seller = seller_with_entity(country="BE", tax_number="BE0403019261")
    member = SellerUserFactory(seller=seller).user
    client.force_login(member)

    html = client.get("/seller/").content.decode()

    assert (
        '<dd data-testid="e-invoicing" data-status="required" data-configured="true">'
        "peppol: ubl from 2026-01-01 (required, configured)"
    ) in html
    assert einvoicing.MANDATES["BE"].source in html


@pytest.mark.django_db
def test_the_onboarding_status_step_shows_which_e_invoice_applies(sandbox, client, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    seller = seller_with_entity(country="BE", tax_number="BE0403019261")
    client.force_login(SellerUserFactory(seller=seller).user)

    html = client.get("/seller/onboarding/status/").content.decode()

    assert (
        '<p data-testid="e-invoicing" data-status="required" data-configured="true">'
        "peppol: ubl from 2026-01-01 (required, configured)"
    ) in html
