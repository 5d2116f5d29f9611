# The audit trail moved to core (core/migrations/0001_initial.py): marketplace's state lets go of
# the model; its table, marketplace_auditevent, stays as it is and is core's now.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("marketplace", "0011_operator_permissions"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
