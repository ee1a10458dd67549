"""The migrations and the models agree: autogenerate finds nothing to do."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from labeler.extensions import db

# Written by hand in the migrations (an expression index autogenerate cannot reflect on SQLite).
HAND_WRITTEN = {"ix_items_open_queue"}


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "index" and name in HAND_WRITTEN)


def test_autogenerate_finds_nothing(app, backend):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": _include, "compare_type": True}
        )
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ on {backend}: {diff}"


def test_queue_index_exists(app, backend):
    from sqlalchemy import inspect

    names = {ix["name"] for ix in inspect(db.engine).get_indexes("items")}
    assert "ix_items_open_queue" in names


def test_sqlite_next_uses_the_queue_index(app, backend):
    """On SQLite the query ``next`` runs must walk the partial index, not sort the project."""
    if backend != "sqlite":
        return  # PostgreSQL's plans: tests/integration/test_query_plans.py
    from sqlalchemy import select

    from labeler.models import Item

    query = (
        select(Item.id)
        .where(Item.project_id == 1, Item.is_open)
        .order_by(Item.priority.desc(), Item.id)
        .limit(1)
    )
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_items_open_queue" in plan and "TEMP B-TREE" not in plan, plan
