"""The assignment engine on both backends: leases, overlap, undo, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Lease
from labeler.models.types import utcnow
from labeler.services import assignment, projects
from labeler.services.errors import BadInput, Conflict, NotFound
from tests.factories import gen_project


def _project(overlap: int = 1, n_items: int = 5, **kw):
    return gen_project(overlap=overlap, items=n_items, priority=lambda k: -k, **kw)


def test_next_serves_highest_priority_and_same_item_again(app, make_user):
    project = _project()
    rater, _ = make_user("r1")
    first = assignment.next_item(project, rater)
    assert first is not None and first.item.external_id == "i0"
    again = assignment.next_item(project, rater)
    assert again is not None and again.item.id == first.item.id
    assert db.session.scalar(select(func.count(Lease.id))) == 1


def test_overlap_limits_distinct_raters(app, make_user):
    project = _project(overlap=2, n_items=1)
    raters = [make_user(f"r{k}")[0] for k in range(3)]
    got = [assignment.next_item(project, r) for r in raters]
    assert got[0] is not None and got[1] is not None
    assert got[2] is None  # two live leases fill the overlap
    for r, a in zip(raters[:2], got[:2], strict=True):
        assignment.annotate(project, r, a.item, "pos")
    assert assignment.next_item(project, raters[2]) is None
    item = db.session.scalar(select(Item))
    assert (item.n_done, item.n_leased, item.is_open) == (2, 0, False)


def test_rater_never_gets_same_item_twice(app, make_user):
    project = _project(overlap=3, n_items=2)
    rater, _ = make_user("r1")
    seen = []
    while (a := assignment.next_item(project, rater)) is not None:
        seen.append(a.item.external_id)
        assignment.annotate(project, rater, a.item, "neg")
    assert sorted(seen) == ["i0", "i1"]


def test_expired_lease_gives_item_back(app, make_user):
    project = _project(overlap=1, n_items=1, lease_seconds=5)
    r1, _ = make_user("r1")
    r2, _ = make_user("r2")
    assert assignment.next_item(project, r1) is not None
    assert assignment.next_item(project, r2) is None
    later = utcnow() + timedelta(seconds=10)
    got = assignment.next_item(project, r2, now=later)
    assert got is not None and got.item.external_id == "i0"
    item = db.session.scalar(select(Item))
    assert item.n_leased == 1 and assignment.counters_consistent(project) == []


def test_annotate_rejects_label_outside_set_and_keeps_nothing(app, make_user):
    project = _project()
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    with pytest.raises(BadInput) as exc:
        assignment.annotate(project, rater, a.item, "maybe")
    assert exc.value.details["field"] == "label"
    assert db.session.scalar(select(func.count(Annotation.id))) == 0


def test_full_item_without_lease_is_a_conflict(app, make_user):
    project = _project(overlap=1, n_items=1)
    r1, _ = make_user("r1")
    r2, _ = make_user("r2")
    a = assignment.next_item(project, r1)
    with pytest.raises(Conflict):
        assignment.annotate(project, r2, a.item, "pos")
    assignment.annotate(project, r1, a.item, "pos")
    assert assignment.counters_consistent(project) == []


def test_relabel_keeps_history(app, make_user):
    project = _project()
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    first = assignment.annotate(project, rater, a.item, "pos")
    assignment.annotate(project, rater, a.item, "neg", replaces=first.id)
    rows = db.session.execute(
        select(Annotation.label, Annotation.is_current).order_by(Annotation.id)
    ).all()
    assert [tuple(r) for r in rows] == [("pos", False), ("neg", True)]
    assert db.session.get(Item, a.item.id).n_done == 1


def test_skip_frees_the_slot_but_not_for_the_same_rater(app, make_user):
    project = _project(overlap=1, n_items=1)
    r1, _ = make_user("r1")
    r2, _ = make_user("r2")
    a = assignment.next_item(project, r1)
    assignment.annotate(project, r1, a.item, None, kind="skip")
    assert assignment.next_item(project, r1) is None
    got = assignment.next_item(project, r2)
    assert got is not None and got.item.id == a.item.id


def test_undo_returns_item_and_retracts(app, make_user):
    project = _project(n_items=3)
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    assignment.annotate(project, rater, a.item, "pos")
    b = assignment.next_item(project, rater)
    assert b.item.id != a.item.id
    back = assignment.undo_last(project, rater)
    assert back.item.id == a.item.id
    # The item shown before the undo went back to the pool.
    assert db.session.get(Item, b.item.id).n_leased == 0
    assert assignment.next_item(project, rater).item.id == a.item.id
    assignment.annotate(project, rater, back.item, "neg")
    rows = db.session.execute(
        select(
            Annotation.label, Annotation.is_current, Annotation.retracted_at.is_not(None)
        ).order_by(Annotation.id)
    ).all()
    assert [tuple(r) for r in rows] == [("pos", False, True), ("neg", True, False)]
    assert assignment.counters_consistent(project) == []
    with pytest.raises(NotFound):
        assignment.undo_last(projects.create_project("q", ["a"]), rater)
