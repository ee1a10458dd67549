"""Project settings: name, lease time, labels (add, re-key, rename with history), members."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, GoldLabel, Item, Lease, Membership
from labeler.services import assignment
from labeler.services import projects as project_service
from labeler.services.errors import BadInput, Conflict
from tests.factories import gen_project
from tests.integration.test_pages import login, page_token

pytestmark = pytest.mark.integration


def _labels(project: Any) -> list[tuple[str, str]]:
    db.session.refresh(project)
    return [(lb.name, lb.hotkey) for lb in project.labels]


def test_rename_keeps_history_and_gold_in_one_transaction(app: Any, make_user: Any) -> None:
    rater, _ = make_user("rita")
    project = gen_project("p", ["pos", "neg"], items=3, members=[rater])
    got = assignment.next_item(project, rater)
    assert got is not None
    assignment.annotate(project, rater, got.item, "pos")
    other = db.session.scalars(select(Item).where(Item.id != got.item.id)).first()
    db.session.add(GoldLabel(project_id=project.id, item_id=other.id, label="neg"))
    db.session.commit()

    # A swap plus a rename plus a new label, in one patch.
    project_service.update_project(
        project,
        labels=[
            {"old": "pos", "name": "positive", "hotkey": "2"},
            {"old": "neg", "name": "negative", "hotkey": "1"},
            {"name": "neutral"},
        ],
    )
    assert _labels(project) == [("positive", "2"), ("negative", "1"), ("neutral", "3")]
    assert db.session.scalars(select(Annotation.label)).all() == ["positive"]
    assert db.session.scalars(select(GoldLabel.label)).all() == ["negative"]
    # The renamed label is a label of the set: answering with it works.
    got = assignment.next_item(project, rater)
    assert got is not None
    assignment.annotate(project, rater, got.item, "negative")


def test_label_swap_of_names(app: Any) -> None:
    project = gen_project("p", ["a", "b"])
    project_service.update_project(
        project, labels=[{"old": "a", "name": "b"}, {"old": "b", "name": "a"}]
    )
    assert _labels(project) == [("b", "1"), ("a", "2")]


@pytest.mark.parametrize(
    ("labels", "error"),
    [
        ([{"old": "nope", "name": "x"}], BadInput),
        ([{"name": "pos"}], Conflict),
        ([{"old": "pos", "name": "neg"}], Conflict),
        ([{"old": "pos", "name": "pos", "hotkey": "2"}], Conflict),
        ([{"old": "pos", "name": "pos", "hotkey": "s"}], BadInput),
    ],
)
def test_bad_label_changes_are_refused_by_field(app: Any, labels: Any, error: Any) -> None:
    project = gen_project("p", ["pos", "neg"])
    with pytest.raises(error) as exc:
        project_service.update_project(project, labels=labels)
    assert exc.value.details["field"] == "labels"
    db.session.rollback()
    assert _labels(project) == [("pos", "1"), ("neg", "2")]


def test_name_and_lease_through_the_form(app: Any, client: Any, make_user: Any) -> None:
    eng, _ = make_user("eng", "engineer")
    project = gen_project("p", ["pos", "neg"], members=[eng])
    gen_project("taken", ["a"])
    login(client, "eng")
    token = page_token(client, f"/projects/{project.id}")
    form = {
        "csrf_token": token,
        "name": "renamed",
        "lease_seconds": "90",
        "strategy": "random",
        "overlap": "1",
        "retrain_every": "5",
        "instructions": "",
    }
    r = client.post(f"/projects/{project.id}/settings", data=form, follow_redirects=True)
    assert "Settings saved." in r.get_data(as_text=True)
    db.session.refresh(project)
    assert (project.name, project.lease_seconds) == ("renamed", 90)
    r = client.post(
        f"/projects/{project.id}/settings", data={**form, "name": "taken"}, follow_redirects=True
    )
    assert "Settings not saved" in r.get_data(as_text=True)
    db.session.refresh(project)
    assert project.name == "renamed"


def test_labels_form_and_api_share_the_rules(app: Any, client: Any, make_user: Any) -> None:
    eng, token = make_user("eng", "engineer")
    project = gen_project("p", ["pos", "neg"], members=[eng])
    login(client, "eng")
    csrf = page_token(client, f"/projects/{project.id}")
    r = client.post(
        f"/projects/{project.id}/labels",
        data={
            "csrf_token": csrf,
            "old": ["pos", "neg", ""],
            "name": ["good", "neg", "meh"],
            "hotkey": ["1", "2", "m"],
        },
        follow_redirects=True,
    )
    assert "Labels saved." in r.get_data(as_text=True)
    assert _labels(project) == [("good", "1"), ("neg", "2"), ("meh", "m")]
    bad = client.patch(
        f"/api/v1/projects/{project.id}",
        json={"labels": [{"old": "good", "name": "x", "hotkey": "S"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"]["field"] == "labels"
    ok = client.patch(
        f"/api/v1/projects/{project.id}",
        json={"name": "via-api", "labels": [{"old": "meh", "name": "neutral"}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["name"] == "via-api"
    assert [lb["name"] for lb in ok.get_json()["labels"]] == ["good", "neg", "neutral"]


def test_members_add_and_remove_releases_leases(app: Any, client: Any, make_user: Any) -> None:
    eng, _ = make_user("eng", "engineer")
    rater, _ = make_user("rita")
    project = gen_project("p", ["pos", "neg"], items=2, members=[eng])
    login(client, "eng")
    csrf = page_token(client, f"/projects/{project.id}")
    r = client.post(
        f"/projects/{project.id}/members",
        data={"csrf_token": csrf, "user": "rita"},
        follow_redirects=True,
    )
    assert "rita added." in r.get_data(as_text=True)
    assert project_service.is_member(rater, project)
    got = assignment.next_item(project, rater)
    assert got is not None
    r = client.post(
        f"/projects/{project.id}/members/remove",
        data={"csrf_token": csrf, "user": "rita"},
        follow_redirects=True,
    )
    assert "rita removed." in r.get_data(as_text=True)
    assert db.session.get(Membership, (project.id, rater.id)) is None
    assert db.session.scalar(select(Lease.id).where(Lease.rater_id == rater.id)) is None
    item = db.session.get(Item, got.item.id)
    db.session.refresh(item)
    assert (item.n_leased, item.is_open) == (0, True)
    assert assignment.counters_consistent(project) == []
    r = client.post(
        f"/projects/{project.id}/members",
        data={"csrf_token": csrf, "user": "nobody"},
        follow_redirects=True,
    )
    assert "Members not changed: no user" in r.get_data(as_text=True)
