"""The order's money check holds on SQLite, the embedded default, too."""

import sqlite3

from django.db.backends.sqlite3.base import DatabaseWrapper
from django.db.models import CheckConstraint
from django.db.models.sql import Query

from marketplace.models import Order


def sqlite_check_clause(name: str) -> str:
    """The CHECK clause Django writes for the constraint on SQLite (compiled, not connected)."""
    sqlite = DatabaseWrapper({"NAME": ":memory:", "TIME_ZONE": None}, alias="sqlite-check")
    [check] = [c for c in Order._meta.constraints if c.name == name]
    assert isinstance(check, CheckConstraint)
    query = Query(model=Order, alias_cols=False)
    sql, params = query.build_where(check.condition).as_sql(
        query.get_compiler(connection=sqlite), sqlite
    )
    return sql % tuple(sqlite.schema_editor().quote_value(p) for p in params)


def test_an_order_of_tenths_passes_the_gross_check_on_sqlite_where_decimals_add_as_floats():
    clause = sqlite_check_clause("order_gross_is_net_plus_tax")
    database = sqlite3.connect(":memory:")
    database.execute(
        f'CREATE TABLE "marketplace_order" ("total_net" decimal, "total_tax" decimal, '
        f'"total_gross" decimal, CHECK ({clause}))'
    )

    database.execute('INSERT INTO "marketplace_order" VALUES (?, ?, ?)', ("0.10", "0.20", "0.30"))
    try:
        database.execute(
            'INSERT INTO "marketplace_order" VALUES (?, ?, ?)', ("0.10", "0.20", "0.31")
        )
        refused = False
    except sqlite3.IntegrityError:
        refused = True

    assert refused
    assert database.execute('SELECT COUNT(*) FROM "marketplace_order"').fetchone() == (1,)
