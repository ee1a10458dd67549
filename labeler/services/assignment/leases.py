"""Leases and the item counters: what ``next`` and the answers share.

A lease is a rater's hold on an item; it counts against the item's ``overlap``
budget while it lives (``items.n_leased``), and an expired one gives its slot back
(:func:`reclaim_expired`). Both picks (:mod:`.pick`, :mod:`.gold_pick`), the answers
(:mod:`.answers`) and the labeling page's queue (``labeler.services.queue``) take
their locks and release leases through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.engine import CursorResult

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Lease, Project, User
from labeler.models.items import open_after
from labeler.models.types import utcnow
from labeler.services.errors import NotFound


@dataclass(frozen=True)
class Assignment:
    item: Item
    expires_at: datetime


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def rowcount(statement: Any) -> int:
    """Rows an UPDATE or DELETE touched."""
    result: CursorResult[Any] = db.session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


# The two ``next`` statements (:mod:`.pick`, :mod:`.gold_pick`) differ only in how they
# pick and count the item; the lease the rater already holds (``held``), the new lease
# and the answer (the new item, or the held one) are the same SQL.
HELD_CTE = """held AS (
        SELECT item_id, expires_at FROM leases
        WHERE project_id = :p AND rater_id = :r AND expires_at > :now
        ORDER BY id LIMIT 1
    )"""
LEASE_TAIL = """lease AS (
        INSERT INTO leases (project_id, item_id, rater_id, created_at, expires_at)
        SELECT :p, took.id, :r, :now, :exp FROM took
        RETURNING item_id
    )
    SELECT took.id, took.external_id, took.data, took.priority, took.n_done,
           CAST(:exp AS timestamptz) AS expires_at
    FROM took
    UNION ALL
    SELECT i.id, i.external_id, i.data, i.priority, i.n_done, held.expires_at
    FROM held JOIN items i ON i.id = held.item_id"""

_RATER_LOCK_PG = text("SELECT pg_advisory_xact_lock(:p, :r)")


def lock_rater(project: Project, rater: User) -> None:
    """Serialise this rater's lease-making calls in ``project`` until the transaction ends.

    Without it, parallel ``next`` calls of one rater on PostgreSQL each see no
    held lease (none is committed yet) and each lease a different item. The lock
    is its own statement on purpose: under READ COMMITTED the statements after
    it take a new snapshot, so they see the lease the previous holder committed.
    On SQLite every transaction already holds the single write lock.
    """
    if is_postgres():
        db.session.execute(_RATER_LOCK_PG, {"p": project.id, "r": rater.id})


def reclaim_expired(project: Project, now: datetime | None = None) -> int:
    """Delete expired leases of ``project`` and give their slots back; returns how many.

    Cost is proportional to the expired leases (an index range), not the pool.
    """
    now = now or utcnow()
    item_ids = list(
        db.session.scalars(
            delete(Lease)
            .where(Lease.project_id == project.id, Lease.expires_at <= now)
            .returning(Lease.item_id)
        )
    )
    if not item_ids:
        return 0
    counts: dict[int, int] = {}
    for item_id in item_ids:
        counts[item_id] = counts.get(item_id, 0) + 1
    for item_id, n in sorted(counts.items()):
        db.session.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(
                n_leased=Item.n_leased - n,
                is_open=open_after(Item.n_done + Item.n_leased - n, project.overlap),
            )
        )
    return len(item_ids)


def current_lease(project: Project, rater: User, now: datetime) -> Lease | None:
    return db.session.scalar(
        select(Lease)
        .where(Lease.project_id == project.id, Lease.rater_id == rater.id, Lease.expires_at > now)
        .order_by(Lease.id)
        .limit(1)
    )


def release_lease(lease: Lease, project: Project) -> None:
    db.session.delete(lease)
    db.session.execute(
        update(Item)
        .where(Item.id == lease.item_id)
        .values(
            n_leased=Item.n_leased - 1,
            is_open=open_after(Item.n_done + Item.n_leased - 1, project.overlap),
        )
    )


def find_item(project: Project, ref: str | int, *, by_external_id: bool = True) -> Item:
    """An item of ``project`` by its external id (as given at import) or internal id."""
    item = None
    if by_external_id:
        item = db.session.scalar(
            select(Item).where(Item.project_id == project.id, Item.external_id == str(ref))
        )
    if item is None and str(ref).isdigit() and not by_external_id:
        item = db.session.get(Item, int(ref))
        if item is not None and item.project_id != project.id:
            item = None
    if item is None:
        raise NotFound(f"no item {ref!r} in project {project.name!r}", {"item": str(ref)})
    return item


def release(project: Project, rater: User) -> int:
    """Give back the rater's leases in ``project`` (e.g. on logout)."""
    n = 0
    for held in db.session.scalars(
        select(Lease).where(Lease.project_id == project.id, Lease.rater_id == rater.id)
    ):
        release_lease(held, project)
        n += 1
    db.session.commit()
    return n


def item_dict(project: Project, item: Item) -> dict[str, Any]:
    return {
        "id": item.external_id,
        "data": item.data,
        "priority": item.priority,
        "n_done": item.n_done,
    }


def counters_consistent(project: Project) -> list[int]:
    """Ids of items whose counters disagree with the annotations and leases (for tests/checks)."""
    done = (
        select(Annotation.item_id, func.count().label("n"))
        .where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind != AnnotationKind.SKIP.value,
        )
        .group_by(Annotation.item_id)
        .subquery()
    )
    leased = (
        select(Lease.item_id, func.count().label("n"))
        .where(Lease.project_id == project.id)
        .group_by(Lease.item_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Item.id)
        .outerjoin(done, done.c.item_id == Item.id)
        .outerjoin(leased, leased.c.item_id == Item.id)
        .where(
            Item.project_id == project.id,
            and_(
                True,
                (Item.n_done != func.coalesce(done.c.n, 0))
                | (Item.n_leased != func.coalesce(leased.c.n, 0)),
            ),
        )
    )
    return [r[0] for r in rows]
