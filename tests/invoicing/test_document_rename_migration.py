"""Renaming the mirror model Invoice -> Document keeps what operators were granted on it."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

STATE_WITH_AUTH = [
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def migrate_invoicing_to(name):
    """Migrate as `manage.py migrate` does (it also renames the model's content type)."""
    call_command("migrate", "invoicing", name, verbosity=0)
    state = MigrationExecutor(connection).loader.project_state(
        [("invoicing", name), *STATE_WITH_AUTH]
    )
    return state.apps


@pytest.mark.django_db(transaction=True)
def test_a_group_granted_view_invoice_can_view_documents_after_the_rename():
    old_apps = migrate_invoicing_to("0015_document_send_outbox")
    ContentType = old_apps.get_model("contenttypes", "ContentType")
    Permission = old_apps.get_model("auth", "Permission")
    Group = old_apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="invoicing", model="invoice")
    view, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="view_invoice", defaults={"name": "Can view invoice"}
    )
    Group.objects.create(name="finance").permissions.add(view)

    new_apps = migrate_invoicing_to("0016_rename_invoice_document")

    Group = new_apps.get_model("auth", "Group")
    granted = Group.objects.get(name="finance").permissions.values_list(
        "content_type__app_label", "content_type__model", "codename", "name"
    )
    assert list(granted) == [("invoicing", "document", "view_document", "Can view document")]
    call_command("migrate", verbosity=0)
