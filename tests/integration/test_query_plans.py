"""The hot path's queries use their partial indexes on PostgreSQL (so `next` stays flat in size).

SQLAlchemy writes ``col.is_(True)`` as ``col IS true``, which PostgreSQL does not
match to ``WHERE is_open``: `next` then scans and sorts every open item. This
test reads the plans and fails if that comes back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from labeler.extensions import db
from labeler.models import Item
from labeler.services import assignment, projects, users

pytestmark = pytest.mark.integration


def test_next_and_annotate_use_the_partial_indexes(pg_app):
    project = projects.create_project("plans", ["a", "b"], overlap=2)
    db.session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "external_id": f"p{k}",
                "data": {"text": "x"},
                "priority": k % 7,
            }
            for k in range(20_000)
        ],
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    rater = users.create_user("r", "rater")

    captured: list[tuple[str, object]] = []

    from sqlalchemy import event

    def _capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "items" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", _capture)
    try:
        got = assignment.next_item(project, rater)
        assignment.annotate(project, rater, got.item, "a")
    finally:
        event.remove(db.engine, "before_cursor_execute", _capture)

    plans = []
    with db.engine.connect() as conn:
        for statement, params in captured:
            if "priority DESC" in statement and "is_open" in statement:
                rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
                plans.append("\n".join(r[0] for r in rows))
    assert plans, "the pick query was not seen"
    for plan in plans:
        assert "ix_items_open_queue" in plan, plan
        assert "Seq Scan on items" not in plan, plan
        # The index delivers the priority order: no sort of the open items.
        assert "priority DESC" not in "".join(
            line for line in plan.splitlines() if "Sort Key" in line
        ), plan
