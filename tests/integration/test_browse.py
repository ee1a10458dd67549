"""The item browser: filters, keyset pages (no OFFSET), roles, escaping, an item's history."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert, text

from labeler.extensions import db
from labeler.models import Item
from labeler.services import assignment, browse
from tests.factories import gen_items, gen_project
from tests.integration.test_pages import login

pytestmark = pytest.mark.integration


def _answer(
    project: Any, rater: Any, external_id: str, label: str | None, kind: str = "label"
) -> None:
    item = assignment.find_item(project, external_id)
    assignment.annotate(project, rater, item, label, kind=kind)


def _seed(make_user: Any) -> tuple[Any, dict[str, Any]]:
    eng, _ = make_user("eng", "engineer")
    ann, _ = make_user("ann")
    bob, _ = make_user("bob")
    sme, _ = make_user("sam", "sme")
    rater, _ = make_user("rex")
    project = gen_project("p", ["pos", "neg"], overlap=2, members=[eng, ann, bob, sme, rater])
    gen_items(
        project,
        records=[
            {"external_id": f"i{k}", "data": {"text": t}}
            for k, t in enumerate(
                ["Great <b>film</b>", "awful", "GREAT again", "meh", "fine", "100% sure_x"]
            )
        ],
    )
    _answer(project, ann, "i0", "pos")
    _answer(project, bob, "i0", "pos")  # complete, agreed
    _answer(project, ann, "i1", "pos")
    _answer(project, bob, "i1", "neg")  # complete, tied
    _answer(project, ann, "i2", "neg")  # in progress
    _answer(project, ann, "i3", None, kind="unsure")
    _answer(project, bob, "i3", None, kind="unsure")  # complete, no labels: disputed
    return project, {"eng": eng, "ann": ann, "bob": bob, "sme": sme, "rex": rater}


def _ids(project: Any, **f: Any) -> list[str]:
    return [r["external_id"] for r in browse.items_page(project, browse.ItemFilter(**f)).rows]


def test_filters(app: Any, make_user: Any) -> None:
    project, _ = _seed(make_user)
    assert _ids(project) == ["i0", "i1", "i2", "i3", "i4", "i5"]
    assert _ids(project, status="unlabeled") == ["i4", "i5"]
    assert _ids(project, status="in_progress") == ["i2"]
    assert _ids(project, status="complete") == ["i0", "i1", "i3"]
    assert _ids(project, status="disputed") == ["i1", "i3"]
    assert _ids(project, label="neg") == ["i1", "i2"]
    assert _ids(project, rater="bob") == ["i0", "i1", "i3"]
    assert _ids(project, rater="bob", label="neg") == ["i1"]
    assert _ids(project, rater="nobody") == []
    assert _ids(project, q="great") == ["i0", "i2"]
    assert _ids(project, q="%") == ["i5"]
    assert _ids(project, q="_") == ["i5"]


def test_keyset_pages_cover_everything_once(app: Any, make_user: Any) -> None:
    project = gen_project("big", ["a", "b"], items=23)
    seen: list[str] = []
    after = 0
    statements: list[str] = []

    def _capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _capture)
    try:
        while True:
            page = browse.items_page(project, browse.ItemFilter(after=after), size=10)
            seen += [r["external_id"] for r in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
    finally:
        event.remove(db.engine, "before_cursor_execute", _capture)
    assert seen == [f"i{k}" for k in range(23)]
    assert statements
    # Keyset, not OFFSET: SQLite's dialect writes "LIMIT ? OFFSET ?" with 0; PostgreSQL none.
    query = browse.page_query(project, browse.ItemFilter(after=after))
    assert query._offset_clause is None
    if db.engine.dialect.name == "postgresql":
        assert not any("OFFSET" in s.upper() for s in statements)


def test_the_page_query_uses_the_keyset_index_on_postgresql(pg_app: Any) -> None:
    other = gen_project("other", ["a", "b"])
    gen_items(other, 30_000, prefix="o")
    project = gen_project("plans", ["a", "b"])
    db.session.execute(
        insert(Item),
        [
            {"project_id": project.id, "external_id": f"p{k}", "data": {"text": "x"}}
            for k in range(5000)
        ],
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    for f in (browse.ItemFilter(after=0), browse.ItemFilter(status="complete", after=100)):
        compiled = browse.page_query(project, f).compile(db.engine)
        with db.engine.connect() as conn:
            plan = "\n".join(
                r[0]
                for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
            )
        assert "ix_items_project_id" in plan, plan
        assert "Seq Scan on items" not in plan, plan
        assert "Sort" not in plan.split("->")[0], plan


def test_roles_escaping_and_bad_input(app: Any, client: Any, make_user: Any) -> None:
    project, _ = _seed(make_user)
    login(client, "rex")
    assert client.get(f"/projects/{project.id}/items").status_code == 403
    assert client.get(f"/projects/{project.id}/items/i0").status_code == 403


def test_smes_browse_escaped_and_bad_input_is_400(app: Any, client: Any, make_user: Any) -> None:
    project, _ = _seed(make_user)
    login(client, "sam")
    r = client.get(f"/projects/{project.id}/items")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Great &lt;b&gt;film&lt;/b&gt;" in html and "<b>film" not in html
    assert client.get(f"/projects/{project.id}/items?status=bogus").status_code == 400
    assert client.get(f"/projects/{project.id}/items?after=abc").status_code == 400
    assert client.get(f"/projects/{project.id}/items/nope").status_code == 404


def test_item_page_shows_history_and_priority(app: Any, client: Any, make_user: Any) -> None:
    project, users = _seed(make_user)
    assignment.undo_last(project, users["ann"])  # retracts ann's unsure on i3
    login(client, "eng")
    html = client.get(f"/projects/{project.id}/items/i3").get_data(as_text=True)
    assert "retracted" in html and "(unsure)" in html and "bob" in html
    assert "No round stores per-item predictions yet" in html
    html = client.get(f"/projects/{project.id}/items/i1").get_data(as_text=True)
    assert html.count("current</td>") == 2
