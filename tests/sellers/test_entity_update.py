"""An operator's edit of a seller in admin reaches its Space Invoices entity."""

import pytest

from core.models import AuditEvent
from invoicing import seller_entities
from invoicing.client import Transient
from invoicing.sandbox.faults import FaultConfig
from sellers.models import Seller
from tests.factories import UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(username="olga", is_staff=True, is_superuser=True))
    return client


def change_form(seller: Seller, **changes: object) -> dict[str, object]:
    """The admin change form as a browser posts it (the member inline has no rows to add)."""
    form = {
        "business_name": seller.business_name,
        "email": seller.email,
        "address": seller.address,
        "post_code": seller.post_code,
        "city": seller.city,
        "tax_number": seller.tax_number,
        "is_tax_subject": "on" if seller.is_tax_subject else "",
        "primary_colour": seller.primary_colour,
        "invoice_footer": seller.invoice_footer,
        "invoice_trigger": seller.invoice_trigger,
        "oss_registered": "on" if seller.oss_registered else "",
        "vies_unavailable_policy": seller.vies_unavailable_policy,
        "users-TOTAL_FORMS": "0",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
    }
    return {**form, **changes}


def test_an_edit_in_admin_is_sent_to_the_entity_and_audited(
    sandbox, operator_client, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(business_name="Alpine Crafts d.o.o.")
    url = f"/admin/sellers/seller/{seller.pk}/change/"

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            url,
            change_form(seller, address="Mestni trg 3", invoice_footer="Thank you!"),
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    entity = sandbox.client().entity_get(entity_id=str(seller.entity_id))
    assert (entity["name"], entity["address"]) == ("Alpine Crafts d.o.o.", "Mestni trg 3")
    assert entity["settings"]["document_footer"] == "Thank you!"
    assert entity["metadata"] == {"seller_id": str(seller.pk)}
    event = AuditEvent.objects.get(action="seller.updated")
    assert (event.actor.username, event.seller_id) == ("olga", seller.pk)
    assert event.detail == {"fields": ["address", "invoice_footer"]}
    assert Seller.objects.get(pk=seller.pk).entity_error == ""


def test_a_bad_tax_number_is_shown_on_its_field_and_nothing_is_saved_or_sent(
    sandbox, operator_client, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(business_name="Alpine Crafts d.o.o.")
    url = f"/admin/sellers/seller/{seller.pk}/change/"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator_client.post(
            url, change_form(seller, tax_number="SI00000000", address="Elsewhere 1")
        )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["tax_number"]
    assert callbacks == []
    assert Seller.objects.get(pk=seller.pk).address == seller.address
    entity = sandbox.client().entity_get(entity_id=str(seller.entity_id))
    assert entity["address"] == seller.address
    assert not AuditEvent.objects.filter(action="seller.updated").exists()


def test_the_country_cannot_change_once_the_entity_exists(sandbox, operator_client):
    seller = seller_with_entity()

    page = operator_client.get(f"/admin/sellers/seller/{seller.pk}/change/")

    assert "country" not in page.context["adminform"].form.fields
    operator_client.post(
        f"/admin/sellers/seller/{seller.pk}/change/", change_form(seller, country="DE")
    )
    assert str(Seller.objects.get(pk=seller.pk).country) == "SI"


def test_an_edit_that_touches_nothing_of_the_entity_sends_nothing(
    sandbox, operator_client, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        operator_client.post(
            f"/admin/sellers/seller/{seller.pk}/change/",
            change_form(seller, oss_registered="on"),
        )

    assert callbacks == []
    assert AuditEvent.objects.get(action="seller.updated").detail == {"fields": ["oss_registered"]}


def test_a_refused_update_is_kept_on_the_seller_and_audited(sandbox):
    seller = seller_with_entity()
    Seller.objects.filter(pk=seller.pk).update(entity_id="ent_" + "0" * 24)

    updated = seller_entities.seller_entity_update(seller_id=seller.pk)

    assert updated.entity_error.startswith("update refused: 404")
    assert AuditEvent.objects.filter(
        action="seller.entity_update_failed", seller_id=seller.pk
    ).exists()


def test_an_outage_is_retried_and_the_same_update_twice_changes_nothing(sandbox):
    seller = seller_with_entity()
    Seller.objects.filter(pk=seller.pk).update(city="Koper")
    sandbox.app.faults.configure(FaultConfig(error_rate=1.0))

    with pytest.raises(Transient):
        seller_entities.seller_entity_update(seller_id=seller.pk)

    sandbox.app.faults.configure(FaultConfig(error_rate=0.0))
    seller_entities.seller_entity_update(seller_id=seller.pk)
    seller_entities.seller_entity_update(seller_id=seller.pk)
    entity = sandbox.client().entity_get(entity_id=str(seller.entity_id))
    assert entity["city"] == "Koper"
