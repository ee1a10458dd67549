"""Gold items (issue 10 item 2), on both backends: an engineer marks items with a known
answer; raters get them at the project's gold rate, each once, served like any item;
their accuracy on them is in the agreement report and on the project page.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sqlalchemy import select

from labeler.cli import main
from labeler.extensions import db
from labeler.models import GoldLabel, Item
from labeler.services import assignment, gold, projects, quality
from labeler.services.assignment import gold_pick
from tests.factories import gen_items, gen_project
from tests.integration.test_pages import login, page_token

LABELS = ("pos", "neg")


def _gold_project(n_items: int, n_gold: int, **settings: Any) -> Any:
    project = gen_project("goldp", LABELS, items=n_items, **settings)
    gen_items(project, n_gold, prefix="g")
    for k in range(n_gold):
        gold.mark(project, f"g{k}", LABELS[k % 2])
    return project


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gold_pick, "gold_coin", random.Random(7))


class Coin:
    """A coin that always lands as told (``value`` below the rate: gold)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def _work(project: Any, rater: Any, n: int) -> list[str]:
    """``n`` next + answer rounds; the external ids served, in order."""
    served = []
    for _ in range(n):
        got = assignment.next_item(project, rater)
        if got is None:
            break
        served.append(got.item.external_id)
        assignment.answer(project, rater, got.item.external_id, "pos")
    return served


def test_raters_get_gold_at_the_rate_once_each(app: Any, make_user: Any, seeded: None) -> None:
    ana, _ = make_user("ana")
    ben, _ = make_user("ben")
    project = _gold_project(300, 80, overlap=1, gold_rate=0.2)
    projects.add_member(project, ana)
    projects.add_member(project, ben)
    served = _work(project, ana, 200)
    assert len(served) == 200 and len(set(served)) == 200  # never the same item twice
    n_gold = sum(ref.startswith("g") for ref in served)
    assert 25 <= n_gold <= 55, n_gold  # 0.2 x 200 = 40 expected (sd ~5.7)
    # Overlap 1 does not hold gold items back: ben gets the ones ana answered too.
    ben_served = _work(project, ben, 100)
    ben_gold = [ref for ref in ben_served if ref.startswith("g")]
    assert ben_gold and set(ben_gold) & {ref for ref in served if ref.startswith("g")}
    assert len(set(ben_served)) == len(ben_served)
    assert not set(ben_served) & {ref for ref in served if ref.startswith("i")}  # overlap 1
    # Gold answers do not make the project look done: only normal items count.
    progress = projects.project_progress(project)
    n_normal = sum(ref.startswith("i") for ref in served + ben_served)
    assert progress["n_items"] == 300 and progress["n_complete"] == n_normal
    assert not db.session.scalar(select(Item.id).where(Item.is_gold, Item.is_open))
    assert assignment.counters_consistent(project) == []


def test_gold_runs_out_and_never_fills_an_empty_queue(
    app: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, _ = make_user("ana")
    project = _gold_project(6, 3, overlap=1, gold_rate=0.5)
    projects.add_member(project, ana)
    # Every coin says gold: the three gold items first, then normal ones, then nothing.
    monkeypatch.setattr(gold_pick, "gold_coin", Coin(0.0))
    served = _work(project, ana, 12)
    # Gold only while a normal item is left: the last item served is a normal one.
    assert sorted(served) == sorted([f"g{k}" for k in range(3)] + [f"i{k}" for k in range(6)])
    assert served[-1].startswith("i")
    assert assignment.next_item(project, ana) is None


def test_a_held_gold_item_comes_back_and_counts_no_slot(
    app: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, _ = make_user("ana")
    project = _gold_project(4, 1, overlap=1, gold_rate=0.5)
    projects.add_member(project, ana)
    monkeypatch.setattr(gold_pick, "gold_coin", Coin(0.0))
    first = assignment.next_item(project, ana)
    again = assignment.next_item(project, ana)
    assert first is not None and again is not None
    assert first.item.external_id == again.item.external_id == "g0"
    # Undo on a gold item leases it back; an answer never closes or opens it.
    assignment.answer(project, ana, "g0", "pos")
    back = assignment.undo_last(project, ana)
    assert back.item.external_id == "g0"
    item = db.session.scalar(select(Item).where(Item.external_id == "g0"))
    assert item is not None and not item.is_open and item.n_leased == 1
    assert assignment.counters_consistent(project) == []


def test_served_gold_looks_like_any_item(
    app: Any, client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, token = make_user("ana")
    project = _gold_project(3, 2, overlap=2, gold_rate=0.5)
    projects.add_member(project, ana)
    auth = {"Authorization": f"Bearer {token}"}
    bodies = {}
    for k in range(5):
        monkeypatch.setattr(gold_pick, "gold_coin", Coin(0.0 if k % 2 == 0 else 0.99))
        r = client.get(f"/api/v1/projects/{project.id}/next", headers=auth)
        if r.status_code == 204:
            break
        body = r.get_json()
        bodies[body["item"]["id"]] = body
        answered = client.post(
            f"/api/v1/projects/{project.id}/items/{body['item']['id']}/annotations",
            headers=auth,
            json={"label": "pos"},
        )
        assert answered.status_code == 201
    assert {"g0", "g1"} <= set(bodies) and any(ref.startswith("i") for ref in bodies)
    shapes = {json.dumps(sorted(b)) + json.dumps(sorted(b["item"])) for b in bodies.values()}
    assert len(shapes) == 1  # same keys for gold and normal items
    for b in bodies.values():
        assert "gold" not in json.dumps(b).lower()
    # Nothing else a rater can read says which items are gold.
    item = client.get(f"/api/v1/projects/{project.id}/items/g0", headers=auth).get_json()
    assert "gold" not in json.dumps(item).lower()


def test_gold_api_and_roles(app: Any, client: Any, make_user: Any) -> None:
    (eng_user, eng), (sme_user, sme), (rat_user, rat) = (
        make_user("eng", "engineer"),
        make_user("sme", "sme"),
        make_user("rat", "rater"),
    )
    project = gen_project("goldapi", LABELS, items=3, members=[eng_user, sme_user, rat_user])
    url = f"/api/v1/projects/{project.id}/items/i1/gold"

    def call(method: str, token: str, body: Any = None, path: str = url) -> Any:
        return client.open(
            path, method=method, headers={"Authorization": f"Bearer {token}"}, json=body
        )

    assert call("PUT", rat, {"label": "pos"}).status_code == 403
    assert call("PUT", sme, {"label": "pos"}).status_code == 403
    assert call("DELETE", rat).status_code == 403
    assert call("GET", rat, path=f"/api/v1/projects/{project.id}/gold").status_code == 403
    bad = call("PUT", eng, {"label": "maybe"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "label"
    assert call("PUT", eng, {"label": 3}).status_code == 400
    assert call("PUT", eng, {"label": "pos", "x": 1}).status_code == 400
    missing = call("PUT", eng, {"label": "pos"}, f"/api/v1/projects/{project.id}/items/nope/gold")
    assert missing.status_code == 404
    ok = call("PUT", eng, {"label": "neg"})
    assert ok.status_code == 200 and ok.get_json() == {
        "item": "i1",
        "label": "neg",
        "source": "engineer",
    }
    assert call("PUT", eng, {"label": "neg"}).status_code == 200  # idempotent
    listed = call("GET", eng, path=f"/api/v1/projects/{project.id}/gold").get_json()
    assert listed == {
        "items": [{"item": "i1", "label": "neg", "source": "engineer", "answers": 0, "correct": 0}]
    }
    assert call("DELETE", eng).status_code == 204
    assert db.session.scalar(select(GoldLabel.id)) is None
    item = db.session.scalar(select(Item).where(Item.external_id == "i1"))
    assert item is not None and not item.is_gold and item.is_open
    doc = client.get("/api/v1/openapi.json").get_json()
    ops = doc["paths"]["/api/v1/projects/{pid}/items/{iid}/gold"]
    assert {"put", "delete"} <= set(ops)


def test_gold_rate_setting(app: Any, client: Any, make_user: Any) -> None:
    eng_user, eng = make_user("eng", "engineer")
    project = gen_project("rate", LABELS, items=1, members=[eng_user])
    auth = {"Authorization": f"Bearer {eng}"}
    path = f"/api/v1/projects/{project.id}"
    for bad in (0.6, -0.1, "0.1", True):
        r = client.patch(path, headers=auth, json={"gold_rate": bad})
        assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "gold_rate"
    r = client.patch(path, headers=auth, json={"gold_rate": 0.25})
    assert r.status_code == 200 and r.get_json()["gold_rate"] == 0.25
    assert client.patch(path, headers=auth, json={"gold_rate": 0}).get_json()["gold_rate"] == 0
    # The settings form, with the same rules.
    login(client, "eng")
    form = {
        "name": "rate",
        "overlap": "1",
        "gold_rate": "0.1",
        "weak_min_confidence": "0.8",
        "csrf_token": page_token(client, f"/projects/{project.id}"),
    }
    client.post(f"/projects/{project.id}/settings", data=form)
    db.session.refresh(project)
    assert project.gold_rate == 0.1 and project.weak_min_confidence == 0.8
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'id="gold_rate"' in page and "Gold items: 10%" in page
    client.post(f"/projects/{project.id}/settings", data={**form, "gold_rate": "0.9"})
    db.session.refresh(project)
    assert project.gold_rate == 0.1


def test_gold_cli_import_is_all_or_nothing(app: Any, runner: Any, tmp_path: Any) -> None:
    project = gen_project("cli", LABELS, items=5)
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,label\ni0,pos\ni1,neg\nnope,pos\n")
    out = runner.invoke(main, ["gold", "import", "cli", str(bad)])
    assert out.exit_code != 0 and "line 4" in out.output and "nope" in out.output
    assert db.session.scalar(select(GoldLabel.id)) is None
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("item_id,label\ni0,pos\ni1,maybe\n")
    out = runner.invoke(main, ["gold", "import", "cli", str(wrong)])
    assert out.exit_code != 0 and "line 3" in out.output and "maybe" in out.output
    good = tmp_path / "good.csv"
    good.write_text("item_id,label\ni0,pos\ni1,neg\n")
    out = runner.invoke(main, ["gold", "import", "cli", str(good)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1]) == {"marked": 2, "unchanged": 0}
    out = runner.invoke(main, ["gold", "import", str(project.id), str(good)])
    assert json.loads(out.output.strip().splitlines()[-1]) == {"marked": 0, "unchanged": 2}
    listed = runner.invoke(main, ["gold", "list", "cli", "--json"])
    assert [(r["item"], r["label"]) for r in json.loads(listed.output)["items"]] == [
        ("i0", "pos"),
        ("i1", "neg"),
    ]


def test_accuracy_on_gold_in_report_and_page(app: Any, client: Any, make_user: Any) -> None:
    eng, _ = make_user("eng", "engineer")
    raters = [make_user(name)[0] for name in ("ana", "ben")]
    project = _gold_project(2, 4, overlap=2, gold_rate=0.5)
    for user in [eng, *raters]:
        projects.add_member(project, user)
    # Gold: g0 pos, g1 neg, g2 pos, g3 neg. ana gets 3 of 4 right, ben 1 of 2.
    for ref, label in {"g0": "pos", "g1": "neg", "g2": "pos", "g3": "pos"}.items():
        assignment.answer(project, raters[0], ref, label)
    assignment.answer(project, raters[1], "g0", "neg")
    assignment.answer(project, raters[1], "g1", "neg")
    assignment.answer(project, raters[1], "i0", "pos")
    report = quality.agreement_report(project)
    assert report["per_rater"]["ana"]["gold"] == {"answers": 4, "correct": 3, "accuracy": 0.75}
    assert report["per_rater"]["ben"]["gold"] == {"answers": 2, "correct": 1, "accuracy": 0.5}
    listed = {r["item"]: (r["answers"], r["correct"]) for r in gold.list_gold(project)}
    assert listed == {"g0": (2, 1), "g1": (2, 2), "g2": (1, 1), "g3": (1, 0)}
    login(client, "eng")
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "gold accuracy" in page and "0.750" in page and "(3/4)" in page


def test_item_page_sets_and_clears_gold(app: Any, client: Any, make_user: Any) -> None:
    eng, _ = make_user("eng", "engineer")
    sme, _ = make_user("sme", "sme")
    project = gen_project("page", LABELS, items=2, members=[eng, sme])
    login(client, "eng")
    page = client.get(f"/projects/{project.id}/items/i0").get_data(as_text=True)
    assert "Not a gold item." in page and 'id="gold-label"' in page
    csrf = page_token(client, f"/projects/{project.id}/items/i0")
    form = {"item": "i0", "label": "neg", "action": "set", "csrf_token": csrf}
    client.post(f"/projects/{project.id}/gold", data=form)
    page = client.get(f"/projects/{project.id}/items/i0").get_data(as_text=True)
    assert "its known answer is <strong>neg</strong>" in page
    client.post(f"/projects/{project.id}/gold", data={**form, "action": "clear"})
    assert not db.session.scalar(select(Item.is_gold).where(Item.external_id == "i0"))
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "sme")
    page = client.get(f"/projects/{project.id}/items/i0").get_data(as_text=True)
    assert 'id="gold-label"' not in page
    csrf = page_token(client, f"/projects/{project.id}/items/i0")
    r = client.post(f"/projects/{project.id}/gold", data={**form, "csrf_token": csrf})
    assert r.status_code == 403


def test_gold_pick_uses_the_gold_index(pg_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL the gold pick walks ix_items_gold (a few rows), never the project."""
    from sqlalchemy import event, insert, text

    from labeler.services import users

    project = projects.create_project("goldplans", list(LABELS), overlap=2, gold_rate=0.5)
    rows = [
        {"project_id": project.id, "external_id": f"p{k}", "data": {"text": "x"}}
        for k in range(20_000)
    ]
    db.session.execute(insert(Item), rows)
    db.session.commit()
    for k in range(50):
        gold.mark(project, f"p{k * 400}", LABELS[k % 2])
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    rater = users.create_user("r", "rater")
    monkeypatch.setattr(gold_pick, "gold_coin", Coin(0.0))
    captured: list[tuple[str, Any]] = []

    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "is_gold" in statement and statement.lstrip().upper().startswith("WITH"):
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", _capture)
    try:
        got = assignment.next_item(project, rater)
    finally:
        event.remove(db.engine, "before_cursor_execute", _capture)
    assert got is not None and got.item.external_id == "p0"
    assert captured, "the gold pick was not seen"
    with db.engine.connect() as conn:
        plan = "\n".join(
            r[0] for r in conn.exec_driver_sql("EXPLAIN " + captured[0][0], captured[0][1])
        )
    # The gold items on their index, "is a normal item left?" on the open queue's.
    assert "ix_items_gold" in plan and "ix_items_open_queue" in plan, plan
    assert "Seq Scan on items" not in plan, plan
