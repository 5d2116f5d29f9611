from django.db import migrations

ACTIONS = ("add", "change", "delete", "view")


def rename_permissions(apps, schema_editor, old: str, new: str) -> None:
    """Keep the operators' grants: the permissions of the renamed model keep their rows."""
    Permission = apps.get_model("auth", "Permission")
    for action in ACTIONS:
        Permission.objects.filter(
            content_type__app_label="invoicing", codename=f"{action}_{old}"
        ).update(codename=f"{action}_{new}", name=f"Can {action} document")


def forwards(apps, schema_editor) -> None:
    rename_permissions(apps, schema_editor, "invoice", "document")


def backwards(apps, schema_editor) -> None:
    rename_permissions(apps, schema_editor, "document", "invoice")


class Migration(migrations.Migration):
    """The model holds invoices and credit notes: it is named for what it is."""

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("invoicing", "0015_document_send_outbox"),
        # Its raw SQL names the table by its old name: it runs before the rename.
        ("reporting", "0002_invoice_report_indexes"),
    ]

    operations = [
        migrations.RenameModel("Invoice", "Document"),
        migrations.RunPython(forwards, backwards),
        migrations.RenameIndex(
            model_name="document",
            new_name="invoicing_d_seller__73b6ec_idx",
            old_name="invoicing_i_seller__bd72dd_idx",
        ),
        migrations.RenameIndex(
            model_name="document",
            new_name="invoicing_d_state_1be21d_idx",
            old_name="invoicing_i_state_eb93c7_idx",
        ),
        migrations.RenameIndex(
            model_name="document",
            new_name="invoicing_d_currenc_cb733c_idx",
            old_name="invoicing_i_currenc_b7ba46_idx",
        ),
        migrations.RenameIndex(
            model_name="document",
            new_name="invoicing_d_transac_5b86e7_idx",
            old_name="invoicing_i_transac_046425_idx",
        ),
        migrations.RenameIndex(
            model_name="document",
            new_name="invoicing_d_state_a0a134_idx",
            old_name="invoicing_i_state_694e94_idx",
        ),
    ]
