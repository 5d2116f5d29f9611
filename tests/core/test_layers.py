"""The layers' wiring: each hook a lower layer declares is registered by the app above it at
ready(), a missing registration is named, and the audit trail moved to core without losing a row.
(Which app may import which is `lint-imports`, in `make lint`.)"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core import admin_site, health
from core.models import AuditEvent
from invoicing import hooks as document_hooks
from invoicing.admin_dashboard import operator_dashboard_context
from invoicing.health import space_invoices_check
from invoicing.order_documents import OrderDocuments
from invoicing.seller_entities import SellerEntityTasks
from marketplace import hooks as order_hooks
from reporting.services import RollupListener
from sellers import hooks as seller_hooks


def test_the_apps_register_their_hooks_at_ready():
    assert type(order_hooks.order_invoicing()) is OrderDocuments
    assert type(seller_hooks.seller_entity_hook()) is SellerEntityTasks
    assert [type(listener) for listener in document_hooks._listeners] == [RollupListener]
    assert admin_site._dashboard is operator_dashboard_context
    assert admin_site.OperatorAdminSite.index_template == "admin/operator_index.html"
    assert health._registered == {"space_invoices": space_invoices_check}


def test_a_hook_nobody_registered_is_named(monkeypatch):
    monkeypatch.setattr(order_hooks, "_hook", None)
    monkeypatch.setattr(seller_hooks, "_hook", None)

    with pytest.raises(ImproperlyConfigured, match=r"marketplace\.hooks\.OrderInvoicing"):
        order_hooks.order_invoicing()
    with pytest.raises(ImproperlyConfigured, match=r"sellers\.hooks\.SellerEntityHook"):
        seller_hooks.seller_entity_hook()


@pytest.mark.django_db(transaction=True)
def test_the_audit_trail_moves_to_core_with_its_rows_and_permissions():
    executor = MigrationExecutor(connection)
    executor.migrate([("core", None)])  # as before the move: the model is marketplace's
    state = executor.loader.project_state(("marketplace", "0011_operator_permissions")).apps
    marketplace_type = ContentType.objects.get_or_create(
        app_label="marketplace", model="auditevent"
    )[0]
    old_event = state.get_model("marketplace", "AuditEvent").objects.create(
        action="seller.onboarded", seller_id=7, detail={"by": "operator"}
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = AuditEvent.objects.get(pk=old_event.pk)
    assert (moved.action, moved.seller_id, moved.detail) == (
        "seller.onboarded",
        7,
        {"by": "operator"},
    )
    assert AuditEvent._meta.db_table == "marketplace_auditevent"
    marketplace_type.refresh_from_db()
    assert (marketplace_type.app_label, marketplace_type.model) == ("core", "auditevent")
