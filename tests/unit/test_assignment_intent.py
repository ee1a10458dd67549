"""Answers the rater meant, on both backends: explicit changes, lease heartbeats,
the queue's state, recent answers and progress that cannot pass its total."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, Lease
from labeler.models.types import utcnow
from labeler.services import assignment, projects, queue
from labeler.services.errors import Conflict
from tests.factories import gen_project


def _project(overlap: int = 1, n_items: int = 5, **kw):
    return gen_project(overlap=overlap, items=n_items, priority=lambda k: -k, **kw)


def test_a_change_must_name_the_answer_it_replaces(app, make_user):
    project = _project()
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    first = assignment.answer(project, rater, a.item.external_id, "pos")
    # The same answer again (a double submit): idempotent, same id.
    again = assignment.answer(project, rater, a.item.external_id, "pos")
    assert again.id == first.id
    with pytest.raises(Conflict) as exc:
        assignment.answer(project, rater, a.item.external_id, "neg")
    assert exc.value.details["reason"] == "answered"
    assert exc.value.details["current"]["id"] == first.id
    assert exc.value.details["current"]["label"] == "pos"
    with pytest.raises(Conflict) as exc:
        assignment.answer(project, rater, a.item.external_id, "neg", replaces=first.id + 99)
    assert exc.value.details["reason"] == "answered"
    changed = assignment.answer(project, rater, a.item.external_id, "neg", replaces=first.id)
    assert changed.id != first.id
    rows = db.session.execute(
        select(Annotation.label, Annotation.is_current).order_by(Annotation.id)
    ).all()
    assert [tuple(r) for r in rows] == [("pos", False), ("neg", True)]
    assert db.session.get(Item, a.item.id).n_done == 1
    assert assignment.counters_consistent(project) == []
    # A change naming an answer that is no longer current is refused too.
    with pytest.raises(Conflict):
        assignment.answer(project, rater, a.item.external_id, "pos", replaces=first.id)


def test_heartbeat_extends_the_own_lease(app, make_user):
    project = _project(lease_seconds=60)
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    lease = db.session.scalar(select(Lease))
    lease.expires_at = utcnow() + timedelta(seconds=5)
    db.session.commit()
    got = queue.renew_lease(project, rater, a.item.external_id)
    assert got.expires_at > utcnow() + timedelta(seconds=50)
    assert db.session.get(Item, a.item.id).n_leased == 1
    assert assignment.counters_consistent(project) == []


def test_heartbeat_after_a_reclaim_retakes_a_free_item_or_says_it_is_lost(app, make_user):
    project = _project(n_items=2, lease_seconds=60)
    r1, _ = make_user("r1")
    r2, _ = make_user("r2")
    a = assignment.next_item(project, r1)
    db.session.scalar(select(Lease)).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert assignment.reclaim_expired(project) == 1
    # Nobody took it: the heartbeat takes it back.
    queue.renew_lease(project, r1, a.item.external_id)
    assert db.session.get(Item, a.item.id).n_leased == 1
    db.session.scalar(select(Lease)).expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    got = assignment.next_item(project, r2, now=utcnow())
    assert got is not None and got.item.id == a.item.id
    assignment.annotate(project, r2, got.item, "pos")
    with pytest.raises(Conflict) as exc:
        queue.renew_lease(project, r1, a.item.external_id)
    assert exc.value.details["reason"] == "lease_lost"
    assert assignment.counters_consistent(project) == []


def test_queue_status_counts_items_held_by_others(app, make_user):
    project = _project(n_items=2, lease_seconds=60)
    r1, _ = make_user("r1")
    r2, _ = make_user("r2")
    r3, _ = make_user("r3")
    assignment.next_item(project, r1)
    assignment.next_item(project, r2)
    status = queue.queue_status(project, r3)
    assert status["available"] == 0 and status["held_by_others"] == 2
    assert status["next_expiry"] is not None and status["holding"] is None
    mine = queue.queue_status(project, r1)
    assert mine["held_by_others"] == 1 and mine["holding"] == "i0" and mine["available"] == 1


def test_recent_answers_keep_the_history(app, make_user):
    project = _project(n_items=3)
    rater, _ = make_user("r1")
    a = assignment.next_item(project, rater)
    first = assignment.annotate(project, rater, a.item, "pos")
    second = assignment.annotate(project, rater, a.item, "neg", replaces=first.id)
    b = assignment.next_item(project, rater)
    assignment.annotate(project, rater, b.item, None, kind="skip")
    assignment.undo_last(project, rater)
    rows = queue.my_answers(project, rater, 10)
    assert [(r["item"], r["label"], r["kind"], r["status"]) for r in rows] == [
        ("i1", None, "skip", "undone"),
        ("i0", "neg", "label", "current"),
        ("i0", "pos", "label", "changed"),
    ]
    assert rows[2]["current_id"] == second.id
    assert len(queue.my_answers(project, rater, 1)) == 1


def test_progress_never_passes_its_total(app, make_user):
    project = _project(overlap=2, n_items=2)
    raters = [make_user(f"r{k}")[0] for k in range(3)]
    for r in raters[:2]:
        got = assignment.next_item(project, r)
        assignment.annotate(project, r, got.item, "pos")
    got = assignment.next_item(project, raters[2])
    assignment.annotate(project, raters[2], got.item, None, kind="skip")
    # Lowering the overlap leaves items with more answers than slots.
    projects.update_project(project, overlap=1)
    p = projects.project_progress(project, raters[0])
    assert p["n_annotations"] <= p["target_annotations"] == 2
    assert p["n_complete"] <= p["n_items"]
    assert p["mine"] == 1
    assert p["mine_by_kind"] == {"label": 1, "unsure": 0, "skip": 0}
    skipper = projects.project_progress(project, raters[2])
    assert skipper["mine"] == 0 and skipper["mine_by_kind"]["skip"] == 1
