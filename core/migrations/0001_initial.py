# The audit trail moved from the order domain (marketplace) to core: its table and rows stay, only
# Django's state changes hands (marketplace/migrations/0012_auditevent_moved_to_core.py drops it
# from marketplace's state). The content type follows, so permissions given on it are kept.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="auditevent").exists():
        ContentType.objects.filter(app_label="marketplace", model="auditevent").update(
            app_label="core"
        )


def content_type_move_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="marketplace", model="auditevent").exists():
        ContentType.objects.filter(app_label="core", model="auditevent").update(
            app_label="marketplace"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplace", "0011_operator_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("action", models.CharField(db_index=True, max_length=60)),
                        ("seller_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("order_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("document_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="audit_events", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "marketplace_auditevent",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_move_back),
    ]
