"""Migration operations for PostgreSQL-only indexes, which do nothing on other databases.

Admin's text searches match `icontains`, which Django runs on PostgreSQL as
`UPPER(column::text) LIKE UPPER('%term%')`: no B-tree serves it, but a pg_trgm GIN index on
`UPPER(column)` does (the planner treats the cast and the index's expression as the same). On
SQLite (the embedded default) the searches scan, as before.

These indexes stay out of the model state on purpose: SQLite rebuilds a table on any AlterField
with every index of its model's Meta, and it has neither GIN nor pg_trgm. So the operation
writes its statement itself: Django's GinIndex(OpClass(Upper(...))) renders only with
django.contrib.postgres installed, which nothing else here needs.
"""

from typing import Any

from django.contrib.postgres.operations import TrigramExtension
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.migrations.state import ProjectState


def _on_postgresql(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class PostgreSQLTrigramExtension(TrigramExtension):
    """pg_trgm on PostgreSQL. Django's operation skips other databases going forwards only;
    backwards it would look for the extension in SQLite too."""

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if _on_postgresql(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddTrigramIndex(Operation):
    """A GIN trigram index on UPPER(field) of a model, on PostgreSQL only (needs pg_trgm)."""

    reversible = True
    category = OperationCategory.ADDITION

    def __init__(self, model_name: str, field: str, name: str) -> None:
        self.model_name = model_name
        self.field = field
        self.name = name

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Nothing: the index is not part of the model (see the module's docstring)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        model = self._indexed_model(app_label, schema_editor, to_state)
        if model is not None:
            quote = schema_editor.quote_name
            table = quote(model._meta.db_table)
            column = quote(model._meta.get_field(self.field).column)
            schema_editor.execute(
                f"CREATE INDEX {quote(self.name)} ON {table} "
                f"USING gin (UPPER({column}) gin_trgm_ops)"
            )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if self._indexed_model(app_label, schema_editor, from_state) is not None:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(self.name)}")

    def describe(self) -> str:
        return (
            f"Create trigram index {self.name} on UPPER({self.field}) of {self.model_name} "
            "(PostgreSQL only)"
        )

    @property
    def migration_name_fragment(self) -> str:
        return self.name.lower()

    def _indexed_model(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState
    ) -> Any:
        """The model in `state`, or None where the index does not apply (not PostgreSQL, or the
        model is routed to another database)."""
        model = state.apps.get_model(app_label, self.model_name)
        if _on_postgresql(schema_editor) and self.allow_migrate_model(
            schema_editor.connection.alias, model
        ):
            return model
        return None
