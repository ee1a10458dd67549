"""Adjudication (issue 10, item 7): the queue, decisions, the API's roles and the export.

One project, three raters, answers chosen so each queue rule shows: a three-way
tie, a two-way tie, a 2-1 majority (in the queue only under a threshold above
2/3), unanimous items (never), a single answer (only when flagged) and a flagged
item without answers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Adjudication, Item, ReviewFlag
from labeler.services import assignment, exporting, projects
from labeler.services.errors import BadInput, NotFound
from labeler.services.quality import adjudication
from labeler.services.quality.consensus import ItemConsensus, consensus_table, project_consensus
from labeler.services.weak import results
from tests.factories import gen_project, gen_user

ANSWERS = {
    "i0": ["pos", "neg"],  # tie, entropy 1
    "i1": ["pos", "pos", "neg"],  # 2/3 agree: low confidence only under a threshold > 0.667
    "i2": ["pos", "neg", "neu"],  # three-way tie, entropy log2(3)
    "i3": ["pos", "pos"],  # unanimous
    "i4": ["pos"],  # one answer
}


def _seed(threshold: float = 0.6) -> tuple[Any, list[Any], dict[str, int]]:
    raters = [gen_user(f"r{k}")[0] for k in range(3)]
    project = gen_project(
        "adj",
        ("pos", "neg", "neu"),
        items=6,
        members=raters,
        overlap=3,
        adjudication_threshold=threshold,
    )
    for iid, labels in ANSWERS.items():
        for rater, label in zip(raters, labels, strict=False):
            assignment.answer(project, rater, iid, label)
    ids = dict(db.session.execute(select(Item.external_id, Item.id)).all())
    return project, raters, ids


def _order(project: Any) -> list[str]:
    by_id = dict(db.session.execute(select(Item.id, Item.external_id)).all())
    return [by_id[d.item_id] for d in adjudication.disputes(project)]


def test_project_consensus_interface(app: Any) -> None:
    project, _, ids = _seed()
    got = project_consensus(project)
    assert set(got) == {ids[i] for i in ANSWERS}  # i5 has no answer: absent
    assert got[ids["i1"]] == ItemConsensus("pos", pytest.approx(2 / 3), 3, pytest.approx(2 / 3))
    assert got[ids["i0"]] == ItemConsensus(None, None, 2, 0.5)
    assert got[ids["i4"]] == ItemConsensus("pos", 1.0, 1, None)
    for method in ("wawa", "dawid-skene"):
        other = project_consensus(project, method)
        assert set(other) == set(got)
        assert other[ids["i3"]].label == "pos" and 0.5 < (other[ids["i3"]].confidence or 0) <= 1
        assert other[ids["i0"]].n_raters == 2
        # The export looks items up in the arrays: the same answer as the dict.
        table, none = consensus_table(project, method), ItemConsensus(None, None, 0, None)
        assert {i: table.get(i, none) for i in other} == other
        assert table.get(ids["i5"], none) is none
    # A chunk at a time, in the order asked, ids outside the table's range included.
    table, none = consensus_table(project), ItemConsensus(None, None, 0, None)
    order = [ids["i5"], ids["i4"], 10**9, ids["i0"], 0, ids["i1"]]
    assert table.get_many(order, none) == [
        none,
        ItemConsensus("pos", 1.0, 1, None),
        none,
        ItemConsensus(None, None, 2, 0.5),
        none,
        ItemConsensus("pos", pytest.approx(2 / 3), 3, pytest.approx(2 / 3)),
    ]
    assert table.get_many([], none) == []
    with pytest.raises(BadInput):
        project_consensus(project, "vote")


def test_queue_rules_and_order(app: Any) -> None:
    project, _, ids = _seed()
    # Ties only: 2/3 is above the default threshold 0.6.
    assert _order(project) == ["i2", "i0"]
    assert [d.reasons for d in adjudication.disputes(project)] == [("tie",), ("tie",)]
    projects.update_project(project, adjudication_threshold=0.7)
    assert _order(project) == ["i2", "i0", "i1"]
    assert adjudication.disputes(project)[2].reasons == ("low_confidence",)
    # Flags join the queue whatever the answers say, higher score first.
    assert (
        adjudication.flag_items(
            project,
            {ids["i4"]: "cleanlab: likely neg", ids["i5"]: "looks odd"},
            scores={ids["i4"]: 0.5, ids["i5"]: 0.9},
        )
        == 2
    )
    assert _order(project) == ["i2", "i0", "i1", "i5", "i4"]
    flagged = adjudication.disputes(project)[-1]
    assert flagged.reasons == ("flagged",) and flagged.flag_reason == "cleanlab: likely neg"
    # Flagging again replaces the flag (one per item).
    adjudication.flag_items(project, {ids["i4"]: "again"}, scores={ids["i4"]: 0.95})
    assert db.session.scalar(select(func.count(ReviewFlag.id))) == 2
    assert _order(project)[-2:] == ["i4", "i5"]
    assert adjudication.queue_size(project) == 5
    with pytest.raises(NotFound):
        adjudication.flag_items(project, {10**9: "no such item"})
    assert db.session.scalar(select(func.count(ReviewFlag.id))) == 2


def test_decisions_history_and_export(app: Any) -> None:
    project, raters, ids = _seed()
    sme = gen_user("sam", "sme")[0]
    first = adjudication.decide(project, "i0", "neg", sme, "context says neg")
    assert first["reason"] == "tie" and first["decided_by"] == "sam"
    assert _order(project) == ["i2"]
    # A new decision is a new row; the newest counts.
    second = adjudication.decide(project, "i0", "pos", sme)
    assert second["reason"] == "manual"  # it had left the queue
    assert db.session.scalar(select(func.count(Adjudication.id))) == 2
    assert results.adjudicated_for(project, [ids["i0"], ids["i2"]]) == {ids["i0"]: ("pos", 1.0)}
    # A newer answer that keeps the item disputed brings it back.
    assignment.answer(project, raters[2], "i0", "neu")
    assert _order(project) == ["i0", "i2"]
    entry = adjudication.queue(project, sme)["items"][0]
    assert entry["previous_decision"]["label"] == "pos"
    # The export's final label is the decision, over the (now tied) human answers.
    text = "".join(exporting.export_lines(project.id, "jsonl"))
    rows = {r["id"]: r for r in map(json.loads, text.splitlines())}
    assert (rows["i0"]["label"], rows["i0"]["source"], rows["i0"]["confidence"]) == (
        "pos",
        "adjudicated",
        1.0,
    )
    assert rows["i2"]["source"] is None and rows["i3"]["source"] == "human"
    # A decision on an unanswered item is manual; labels must be the project's.
    assert adjudication.decide(project, "i5", "neu", sme)["reason"] == "manual"
    with pytest.raises(BadInput) as bad:
        adjudication.decide(project, "i5", "maybe", sme)
    assert bad.value.details["field"] == "label"
    with pytest.raises(NotFound):
        adjudication.decide(project, "nope", "pos", sme)


def test_label_rename_follows_decisions(app: Any) -> None:
    project, _, ids = _seed()
    sme = gen_user("sam", "sme")[0]
    adjudication.decide(project, "i2", "neu", sme)
    projects.update_project(project, labels=[{"old": "neu", "name": "neutral"}])
    assert results.adjudicated_for(project, [ids["i2"]]) == {ids["i2"]: ("neutral", 1.0)}


def test_rater_names_only_for_engineers(app: Any) -> None:
    project, _, _ = _seed()
    sme, eng = gen_user("sam", "sme")[0], gen_user("eve", "engineer")[0]
    for_sme = adjudication.queue(project, sme)["items"][0]["answers"]
    for_eng = adjudication.queue(project, eng)["items"][0]["answers"]
    assert [a["rater"] for a in for_sme] == ["rater 1", "rater 2", "rater 3"]
    assert [a["rater"] for a in for_eng] == ["r0", "r1", "r2"]
    assert [a["label"] for a in for_sme] == [a["label"] for a in for_eng] == ["pos", "neg", "neu"]


def test_api_roles_and_inputs(app: Any, client: Any) -> None:
    project, raters, _ = _seed()
    rita, rater_token = gen_user("rita", "rater")
    sme, sme_token = gen_user("sam", "sme")
    eng, eng_token = gen_user("eve", "engineer")
    for user in (rita, sme, eng):
        projects.add_member(project, user)

    def call(method: str, path: str, token: str, **kw: Any) -> Any:
        return client.open(
            f"/api/v1/projects/{project.id}{path}",
            method=method,
            headers={"Authorization": f"Bearer {token}"},
            **kw,
        )

    assert call("GET", "/adjudication", rater_token).status_code == 403
    refused = call("POST", "/items/i0/adjudication", rater_token, json={"label": "pos"})
    assert refused.status_code == 403
    page = call("GET", "/adjudication?limit=1", sme_token)
    assert page.status_code == 200
    body = page.get_json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["items"][0]["id"] == "i2"
    assert body["items"][0]["answers"][0]["rater"] == "rater 1"
    assert call("GET", "/adjudication?offset=1", eng_token).get_json()["items"][0]["id"] == "i0"
    for bad in ("limit=0", "limit=101", "offset=-1", "limit=x"):
        got = call("GET", f"/adjudication?{bad}", sme_token)
        assert got.status_code == 400, bad
        assert got.get_json()["error"]["details"]["field"] == bad.split("=")[0]
    made = call("POST", "/items/i0/adjudication", sme_token, json={"label": "neg", "note": "n"})
    assert made.status_code == 201
    assert made.get_json()["label"] == "neg" and made.get_json()["reason"] == "tie"
    for payload, field in (
        ({"label": "maybe"}, "label"),
        ({"label": "neg", "note": 3}, "note"),
        ({"label": "neg", "extra": 1}, "extra"),
        ({}, "label"),
    ):
        got = call("POST", "/items/i0/adjudication", eng_token, json=payload)
        assert got.status_code == 400 and got.get_json()["error"]["details"]["field"] == field
    assert (
        call("POST", "/items/zz/adjudication", eng_token, json={"label": "neg"}).status_code == 404
    )
    assert call("GET", "/adjudication", eng_token).get_json()["total"] == 1


def test_flag_and_unflag_an_item_by_hand(app: Any, client: Any) -> None:
    project, _, ids = _seed()
    rita, rater_token = gen_user("rita", "rater")
    sme, sme_token = gen_user("sam", "sme")
    for user in (rita, sme):
        projects.add_member(project, user)

    def call(method: str, path: str, token: str = sme_token, **kw: Any) -> Any:
        return client.open(
            f"/api/v1/projects/{project.id}/items/{path}/flag",
            method=method,
            headers={"Authorization": f"Bearer {token}"},
            **kw,
        )

    assert "i5" not in _order(project)  # no answers: not disputed
    assert call("POST", "i5", rater_token, json={"reason": "odd"}).status_code == 403
    made = call("POST", "i5", json={"reason": "looks like spam"})
    assert made.status_code == 201
    assert made.get_json() == {"id": "i5", "reason": "looks like spam", "queued": True}
    assert _order(project)[-1] == "i5"
    entry = next(e for e in adjudication.queue(project, sme)["items"] if e["id"] == "i5")
    assert entry["reasons"] == ["flagged"] and entry["flag"]["reason"] == "looks like spam"
    # A decision settles it; flagging it again says it is not queued until answered again.
    adjudication.decide(project, "i5", "neg", sme)
    assert call("POST", "i5", json={"reason": "again"}).get_json()["queued"] is False
    for payload, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": 5}, "reason")):
        got = call("POST", "i3", json=payload)
        assert got.status_code == 400 and got.get_json()["error"]["details"]["field"] == field
    assert call("POST", "nope", json={"reason": "x"}).status_code == 404
    assert call("DELETE", "i5").status_code == 204
    assert call("DELETE", "i5").status_code == 404  # nothing left to take back
    assert db.session.scalar(select(func.count()).select_from(ReviewFlag)) == 0
    assert call("DELETE", "i3", rater_token).status_code == 403


def test_settings_api_form_and_page(app: Any, client: Any) -> None:
    from tests.integration.test_pages import login

    eng, token = gen_user("eve", "engineer")
    project, _, _ = _seed()
    projects.add_member(project, eng)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/projects/{project.id}"
    got = client.patch(
        url,
        json={"consensus_method": "dawid-skene", "adjudication_threshold": 0.8},
        headers=headers,
    )
    assert got.status_code == 200
    assert got.get_json()["consensus_method"] == "dawid-skene"
    assert got.get_json()["adjudication_threshold"] == 0.8
    for payload in (
        {"consensus_method": "vote"},
        {"adjudication_threshold": 1.5},
        {"adjudication_threshold": "0.5"},
    ):
        bad = client.patch(url, json=payload, headers=headers)
        assert bad.status_code == 400
        assert bad.get_json()["error"]["details"]["field"] == next(iter(payload))
    assert login(client, "eve").status_code == 302
    page = client.get(f"/projects/{project.id}")
    text = page.get_data(as_text=True)
    assert "dawid-skene" in text and f"/projects/{project.id}/adjudicate" in text
    csrf = text.split('name="csrf-token" content="')[1].split('"')[0]
    form = {
        "csrf_token": csrf,
        "name": "adj",
        "overlap": "3",
        "lease_seconds": "600",
        "strategy": "random",
        "instructions": "",
        "consensus_method": "wawa",
        "adjudication_threshold": "0.55",
    }
    assert client.post(f"/projects/{project.id}/settings", data=form).status_code == 302
    db.session.refresh(project)
    assert (project.consensus_method, project.adjudication_threshold) == ("wawa", 0.55)
    form["adjudication_threshold"] = "lots"
    client.post(f"/projects/{project.id}/settings", data=form)
    db.session.refresh(project)
    assert project.adjudication_threshold == 0.55


def test_adjudicate_page_roles(app: Any, client: Any) -> None:
    from tests.integration.test_pages import login, page_token

    project, _, _ = _seed()
    sme = gen_user("sam", "sme")[0]
    projects.add_member(project, sme)
    projects.update_project(project, labels=[{"old": "neu", "name": "<b>neu</b>", "hotkey": "j"}])
    assert login(client, "r0").status_code == 302
    assert client.get(f"/projects/{project.id}/adjudicate").status_code == 403
    client.post("/logout", data={"csrf_token": page_token(client, "/")})
    assert login(client, "sam").status_code == 302
    page = client.get(f"/projects/{project.id}/adjudicate")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<b>neu</b>" not in text and "&lt;b&gt;neu&lt;/b&gt;" in text
    # j moves on this page: the label keeps its button but not the key.
    assert 'data-label="&lt;b&gt;neu&lt;/b&gt;" data-hotkey=""' in text
    assert 'data-label="pos" data-hotkey="1"' in text
    assert f"/projects/{project.id}/adjudicate" in client.get("/").get_data(as_text=True)
