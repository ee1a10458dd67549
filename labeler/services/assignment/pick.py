"""``next``: which item a rater gets, and the lease on it.

``next`` never scans the pool: it walks the partial index of open items by
priority and takes the first row it can lock (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, in one statement with the lease; on SQLite every transaction holds the
single write lock). With probability ``project.gold_rate`` it serves a gold item
instead (:mod:`.gold_pick`).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import exists, select, text, update

from labeler.extensions import db
from labeler.models import Annotation, Item, Lease, Project, User
from labeler.models.items import open_after
from labeler.models.types import utcnow
from labeler.services.assignment.gold_pick import NEXT_GOLD_PG, lease_gold, wants_gold
from labeler.services.assignment.leases import (
    HELD_CTE,
    LEASE_TAIL,
    Assignment,
    current_lease,
    is_postgres,
    lock_rater,
    reclaim_expired,
    rowcount,
)

_NEXT_PG = text(
    f"""
    WITH {HELD_CTE}, pick AS (
        SELECT i.id FROM items i
        WHERE i.project_id = :p AND i.is_open
          AND NOT EXISTS (SELECT 1 FROM held)
          AND NOT EXISTS (SELECT 1 FROM annotations a
                          WHERE a.item_id = i.id AND a.rater_id = :r AND a.is_current)
          AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.rater_id = :r)
        ORDER BY i.priority DESC, i.id
        LIMIT 1
        FOR UPDATE OF i SKIP LOCKED
    ), took AS (
        UPDATE items SET n_leased = items.n_leased + 1,
                         is_open = NOT items.is_gold AND items.n_done + items.n_leased + 1 < :k
        FROM pick WHERE items.id = pick.id
        RETURNING items.id, items.external_id, items.data, items.priority, items.n_done
    ), {LEASE_TAIL}
    """
)
_RECLAIM_EVERY_S = 2.0
_last_reclaim: dict[int, float] = {}


def _next_item_pg(project: Project, rater: User, gold: bool) -> Assignment | None:
    """One round trip: the held lease, or pick + lease the best open item (PostgreSQL).

    With ``gold``, a gold item first (a second round trip only when none is left).
    """
    now = utcnow()
    # Reclaiming is a write on every call otherwise; a lease that expired is given
    # back within a couple of seconds, which is all the invariant asks.
    clock = time.monotonic()
    if clock - _last_reclaim.get(project.id, -1e9) >= _RECLAIM_EVERY_S:
        _last_reclaim[project.id] = clock
        reclaim_expired(project, now)
    expires = now + timedelta(seconds=project.lease_seconds)
    lock_rater(project, rater)
    params = {"p": project.id, "r": rater.id, "now": now, "exp": expires, "k": project.overlap}
    row = db.session.execute(NEXT_GOLD_PG, params).first() if gold else None
    if row is None:
        row = db.session.execute(_NEXT_PG, params).first()
    if row is None:
        db.session.rollback()
        return None
    db.session.commit()
    item = Item(
        id=row.id,
        project_id=project.id,
        external_id=row.external_id,
        data=row.data,
        priority=row.priority,
        n_done=row.n_done,
    )
    return Assignment(item, row.expires_at)


def next_item(project: Project, rater: User, *, now: datetime | None = None) -> Assignment | None:
    """Lease the best open item for ``rater``; the same one again while the lease lives.

    Returns None when nothing is left for this rater. With probability
    ``project.gold_rate`` the item is a gold item this rater has not answered yet.
    """
    gold = wants_gold(project)
    if now is None and is_postgres():
        got = _next_item_pg(project, rater, gold)
        if got is not None:
            return got
    now = now or utcnow()
    lock_rater(project, rater)
    reclaim_expired(project, now)
    held = current_lease(project, rater, now)
    if held is not None:
        item = db.session.get(Item, held.item_id)
        db.session.commit()
        assert item is not None
        return Assignment(item, held.expires_at)

    mine = exists().where(
        Annotation.item_id == Item.id,
        Annotation.rater_id == rater.id,
        Annotation.is_current,
    )
    query = (
        select(Item.id)
        .where(Item.project_id == project.id, Item.is_open, ~mine)
        .order_by(Item.priority.desc(), Item.id)
        .limit(1)
    )
    if gold:
        leased = lease_gold(project, rater, mine, query, now)
        if leased is not None:
            item = db.session.get(Item, leased[0])
            assert item is not None
            return Assignment(item, leased[1])
    skipping = query
    if is_postgres():
        skipping = query.with_for_update(skip_locked=True, of=Item)

    for _attempt in range(20):
        item_id = db.session.scalar(skipping)
        if item_id is None and skipping is not query:
            # Every open row may be locked by someone else for a moment (another
            # rater, or a ranking being written): wait for the locks rather than
            # tell this rater there is nothing left.
            item_id = db.session.scalar(query.with_for_update(of=Item))
        if item_id is None:
            db.session.commit()
            return None
        # Conditional update: correct even if another process got there first.
        taken = rowcount(
            update(Item)
            .where(Item.id == item_id, Item.is_open)
            .values(
                n_leased=Item.n_leased + 1,
                is_open=open_after(Item.n_done + Item.n_leased + 1, project.overlap),
            )
        )
        if taken:
            expires = now + timedelta(seconds=project.lease_seconds)
            db.session.add(
                Lease(project_id=project.id, item_id=item_id, rater_id=rater.id, expires_at=expires)
            )
            db.session.commit()
            item = db.session.get(Item, item_id)
            assert item is not None
            return Assignment(item, expires)
    db.session.commit()
    return None
