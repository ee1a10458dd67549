"""What a rater's queue looks like from the labeling page: lease heartbeats, the
state of an empty queue, and the rater's own recent answers.

None of this is on the hot path of ``next``: the heartbeat touches one lease
row, the queue status reads the live leases of the project (an index range on
``ix_leases_expiry``) and a capped count of open items, and the recent answers
read the rater's newest rows (``ix_annotations_rater``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased

from labeler.extensions import db
from labeler.models import Annotation, Item, Lease, Project, User
from labeler.models.items import open_after
from labeler.models.types import utcnow
from labeler.services.assignment.leases import Assignment, find_item, lock_rater, rowcount
from labeler.services.errors import Conflict

# Counting what is left stops here: "1,000+ left" is as useful as the exact number.
LEFT_CAP = 1000


def _mine_current(rater: User) -> Any:
    return exists().where(
        Annotation.item_id == Item.id, Annotation.rater_id == rater.id, Annotation.is_current
    )


def _my_lease(rater: User) -> Any:
    return exists().where(Lease.item_id == Item.id, Lease.rater_id == rater.id)


def left_for(project: Project, rater: User) -> tuple[int, bool]:
    """Open items ``rater`` could still get (their own held item included), capped.

    Returns (count, capped): capped means "at least ``count``".
    """
    now = utcnow()
    sub = (
        select(Item.id)
        .where(
            Item.project_id == project.id,
            Item.is_open,
            ~_mine_current(rater),
            ~_my_lease(rater),
        )
        .limit(LEFT_CAP + 1)
        .subquery()
    )
    n_open = int(db.session.scalar(select(func.count()).select_from(sub)) or 0)
    held = int(
        db.session.scalar(
            select(func.count(Lease.id)).where(
                Lease.project_id == project.id,
                Lease.rater_id == rater.id,
                Lease.expires_at > now,
            )
        )
        or 0
    )
    capped = n_open > LEFT_CAP
    return min(n_open, LEFT_CAP) + held, capped


def renew_lease(project: Project, rater: User, ref: str) -> Assignment:
    """Extend ``rater``'s lease on item ``ref`` by the project's lease time.

    A lease that expired but was not reclaimed yet still counts in the item's
    counters, so it is simply extended. One that was reclaimed is taken again
    when the item still has room and the rater holds no other lease; otherwise a
    Conflict (``reason``: ``lease_lost``, or ``answered`` when the rater has
    answered the item meanwhile, e.g. in another tab).
    """
    item = find_item(project, ref)
    now = utcnow()
    expires = now + timedelta(seconds=project.lease_seconds)
    lock_rater(project, rater)
    renewed = rowcount(
        update(Lease)
        .where(Lease.item_id == item.id, Lease.rater_id == rater.id)
        .values(expires_at=expires)
    )
    if renewed:
        db.session.commit()
        return Assignment(item, expires)
    answered = db.session.scalar(
        select(Annotation.id).where(
            Annotation.item_id == item.id,
            Annotation.rater_id == rater.id,
            Annotation.is_current,
        )
    )
    if answered is not None:
        db.session.rollback()
        raise Conflict(
            f"you have already answered item {item.external_id!r}",
            {"item": item.external_id, "reason": "answered"},
        )
    other = db.session.scalar(
        select(Lease.id).where(
            Lease.project_id == project.id, Lease.rater_id == rater.id, Lease.expires_at > now
        )
    )
    taken = 0
    if other is None:
        taken = rowcount(
            update(Item)
            .where(Item.id == item.id, Item.is_open | Item.is_gold)
            .values(
                n_leased=Item.n_leased + 1,
                is_open=open_after(Item.n_done + Item.n_leased + 1, project.overlap),
            )
        )
    if not taken:
        db.session.rollback()
        raise Conflict(
            f"your hold on item {item.external_id!r} expired and other raters took it",
            {"item": item.external_id, "reason": "lease_lost"},
        )
    db.session.add(
        Lease(project_id=project.id, item_id=item.id, rater_id=rater.id, expires_at=expires)
    )
    db.session.commit()
    return Assignment(item, expires)


def queue_status(project: Project, rater: User) -> dict[str, Any]:
    """Why the queue is (or is not) empty for ``rater``, and when to look again.

    ``held_by_others``: items this rater could still answer whose free slots are
    all held by other raters' live leases; ``next_expiry``: when the first of
    those leases runs out.
    """
    now = utcnow()
    mine_on_item = exists().where(
        Annotation.item_id == Lease.item_id,
        Annotation.rater_id == rater.id,
        Annotation.is_current,
    )
    own = aliased(Lease)
    my_lease_on_item = exists().where(own.item_id == Lease.item_id, own.rater_id == rater.id)
    held, first_expiry = db.session.execute(
        select(func.count(func.distinct(Lease.item_id)), func.min(Lease.expires_at))
        .join(Item, Item.id == Lease.item_id)
        .where(
            Lease.project_id == project.id,
            Lease.expires_at > now,
            Lease.rater_id != rater.id,
            ~Item.is_open,
            Item.n_done < project.overlap,
            ~mine_on_item,
            ~my_lease_on_item,
        )
    ).one()
    holding = db.session.scalar(
        select(Item.external_id)
        .join(Lease, Lease.item_id == Item.id)
        .where(Lease.project_id == project.id, Lease.rater_id == rater.id, Lease.expires_at > now)
        .order_by(Lease.id)
        .limit(1)
    )
    left, capped = left_for(project, rater)
    expiry: datetime | None = first_expiry
    return {
        "available": left,
        "available_capped": capped,
        "held_by_others": int(held or 0),
        "next_expiry": expiry.isoformat() if expiry is not None else None,
        "holding": holding,
    }


def _status(ann: Annotation, newer_current: int | None) -> str:
    if ann.is_current:
        return "current"
    return "changed" if newer_current is not None and newer_current > ann.id else "undone"


def my_answers(project: Project, rater: User, limit: int = 10) -> list[dict[str, Any]]:
    """``rater``'s newest answers in ``project``, history included, newest first.

    ``status`` is ``current``, ``changed`` (a newer answer replaced it) or
    ``undone``; ``current_id`` is the rater's current answer to that item, the id a
    change must name in ``replaces``.
    """
    rows = db.session.execute(
        select(Annotation, Item.external_id)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project.id, Annotation.rater_id == rater.id)
        .order_by(Annotation.id.desc())
        .limit(limit)
    ).all()
    item_ids = {ann.item_id for ann, _ in rows}
    current: dict[int, int] = {}
    if item_ids:
        current = {
            item_id: ann_id
            for item_id, ann_id in db.session.execute(
                select(Annotation.item_id, Annotation.id).where(
                    Annotation.item_id.in_(item_ids),
                    Annotation.rater_id == rater.id,
                    Annotation.is_current,
                )
            )
        }
    return [
        {
            "id": ann.id,
            "item": external_id,
            "kind": ann.kind,
            "label": ann.label,
            "created_at": ann.created_at.isoformat(),
            "status": _status(ann, current.get(ann.item_id)),
            "current_id": current.get(ann.item_id),
        }
        for ann, external_id in rows
    ]
