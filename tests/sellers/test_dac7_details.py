"""What DAC7 reporting collects of a seller: through the seller API (its admins), the operator
API and admin, checked field by field."""

from datetime import date

import pytest

from core.models import AuditEvent
from sellers.models import Seller, SellerRole
from tests.factories import SellerFactory, SellerUserFactory, operator_user
from tests.sellers.test_entity_update import change_form

pytestmark = pytest.mark.django_db

INDIVIDUAL = {
    "seller_kind": "individual",
    "first_name": " Maja ",
    "last_name": "Kovač",
    "date_of_birth": "1985-04-12",
    "tin": "1234 5678",
    "tin_country": "si",
    "iban": "SI56 1910 0000 0123 438",
}


def _dac7(seller: Seller) -> dict[str, object]:
    seller.refresh_from_db()
    return {
        "seller_kind": seller.seller_kind,
        "first_name": seller.first_name,
        "last_name": seller.last_name,
        "date_of_birth": seller.date_of_birth,
        "tin": seller.tin,
        "tin_country": str(seller.tin_country),
        "business_registration_number": seller.business_registration_number,
        "iban": seller.iban,
    }


@pytest.fixture
def seller_admin(api_client):
    membership = SellerUserFactory(role=SellerRole.ADMIN)
    api_client.force_authenticate(membership.user)
    return membership


def test_a_seller_admin_sets_its_individual_details_stored_in_compact_form(
    api_client, seller_admin
):
    response = api_client.patch("/api/seller/", INDIVIDUAL, format="json")

    assert response.status_code == 200, response.json()
    assert _dac7(seller_admin.seller) == {
        "seller_kind": "individual",
        "first_name": "Maja",
        "last_name": "Kovač",
        "date_of_birth": date(1985, 4, 12),
        "tin": "12345678",
        "tin_country": "SI",
        "business_registration_number": "",
        "iban": "SI56191000000123438",
    }
    body = response.json()
    assert (body["tin"], body["tin_country"], body["iban"]) == (
        "12345678",
        "SI",
        "SI56191000000123438",
    )
    event = AuditEvent.objects.get(action="seller.dac7_updated")
    assert (event.actor, event.seller_id) == (seller_admin.user, seller_admin.seller.pk)
    assert event.detail == {"fields": sorted(INDIVIDUAL)}


def test_a_partial_change_keeps_the_other_fields(api_client, seller_admin):
    api_client.patch("/api/seller/", INDIVIDUAL, format="json")

    response = api_client.patch("/api/seller/", {"iban": "AT611904300234573201"}, format="json")

    assert response.status_code == 200
    details = _dac7(seller_admin.seller)
    assert (details["tin"], details["iban"]) == ("12345678", "AT611904300234573201")


def test_an_entity_gives_its_registration_number_and_any_tin_form(api_client, seller_admin):
    response = api_client.patch(
        "/api/seller/",
        {
            "seller_kind": "entity",
            "tin": "12-345/678a",
            "tin_country": "AT",
            "business_registration_number": " FN 123456a ",
            "iban": "AT611904300234573201",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    details = _dac7(seller_admin.seller)
    assert (details["tin"], details["business_registration_number"]) == (
        "12-345/678A",
        "FN 123456a",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"iban": "SI56 1910 0000 0123 439"}, "iban"),
        ({"tin": "1234567"}, "tin"),  # an SI individual's TIN has 8 digits
        ({"tin": "123$5678"}, "tin"),
        ({"tin_country": ""}, "tin_country"),  # a TIN needs its issuing country
        ({"tin_country": "XX"}, "tin_country"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1899-12-31"}, "date_of_birth"),
        ({"date_of_birth": "12.04.1985"}, "date_of_birth"),
        ({"seller_kind": "company"}, "seller_kind"),
    ],
)
def test_a_bad_value_is_a_400_naming_its_field_and_writes_nothing(
    api_client, seller_admin, change, field
):
    response = api_client.patch("/api/seller/", INDIVIDUAL | change, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert _dac7(seller_admin.seller)["seller_kind"] == ""
    assert not AuditEvent.objects.filter(action="seller.dac7_updated").exists()


def test_a_viewer_cannot_change_them(api_client):
    membership = SellerUserFactory(role=SellerRole.VIEWER)
    api_client.force_authenticate(membership.user)

    response = api_client.patch("/api/seller/", INDIVIDUAL, format="json")

    assert response.status_code == 403
    assert _dac7(membership.seller)["seller_kind"] == ""


def test_an_operator_changes_them_with_the_change_permission_only(api_client):
    seller = SellerFactory()
    url = f"/api/sellers/{seller.pk}/"
    api_client.force_authenticate(operator_user("sellers.view_seller"))
    assert api_client.patch(url, INDIVIDUAL, format="json").status_code == 403

    api_client.force_authenticate(operator_user("sellers.view_seller", "sellers.change_seller"))
    response = api_client.patch(url, {"seller_kind": "entity", "tin": "9"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "tin_country"
    response = api_client.patch(url, {"seller_kind": "entity"}, format="json")
    assert response.status_code == 200
    assert _dac7(seller)["seller_kind"] == "entity"


def test_admin_shows_a_bad_iban_on_its_field_and_stores_a_good_one_compact(client):
    client.force_login(operator_user(is_superuser=True))
    seller = SellerFactory()
    url = f"/admin/sellers/seller/{seller.pk}/change/"
    fields = {
        "seller_kind": "individual",
        "first_name": "Maja",
        "last_name": "Kovač",
        "date_of_birth": "1985-04-12",
        "tin": "1234 5678",
        "tin_country": "SI",
    }

    response = client.post(url, change_form(seller, **fields, iban="SI00 1234"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "iban": ["'SI00 1234' is not a valid IBAN."]
    }
    assert _dac7(seller)["seller_kind"] == ""

    response = client.post(url, change_form(seller, **fields, iban="SI56 1910 0000 0123 438"))

    assert response.status_code == 302
    assert _dac7(seller) == {
        "seller_kind": "individual",
        "first_name": "Maja",
        "last_name": "Kovač",
        "date_of_birth": date(1985, 4, 12),
        "tin": "12345678",
        "tin_country": "SI",
        "business_registration_number": "",
        "iban": "SI56191000000123438",
    }
