"""Gold items in the queue: which ``next`` serves one, and the pick itself.

``next`` (:mod:`.pick`) calls these; they live apart so the engine stays
readable. A gold item (``items.is_gold``) is never open: it is picked from its own
partial index (``ix_items_gold``: the project's gold items only, by id), the first
one the rater has neither answered nor leased, and only while a normal item is
left for the rater, so the cost does not grow with the project and an empty queue
never turns into a queue of gold items (which would give them away).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, text, update

from labeler.extensions import db
from labeler.models import Item, Lease, Project, User
from labeler.services.assignment.leases import HELD_CTE, LEASE_TAIL

__all__ = ["NEXT_GOLD_PG", "gold_coin", "lease_gold", "wants_gold"]

# The gold variant: the first gold item (by id) the rater has neither answered nor
# leased, while a normal item is left for them; gold rows are shared by every rater,
# so no SKIP LOCKED (the counter update waits a moment instead) and no overlap.
NEXT_GOLD_PG = text(
    f"""
    WITH {HELD_CTE}, normal AS MATERIALIZED (
        -- Is a normal item left for the rater? Walked in the queue's order, so on the
        -- open-queue index like the normal pick (an EXISTS alone would drop the order
        -- and may scan the items).
        SELECT j.id FROM items j
        WHERE j.project_id = :p AND j.is_open
          AND NOT EXISTS (SELECT 1 FROM annotations b
                          WHERE b.item_id = j.id AND b.rater_id = :r AND b.is_current)
        ORDER BY j.priority DESC, j.id
        LIMIT 1
    ), pick AS (
        SELECT i.id FROM items i
        WHERE i.project_id = :p AND i.is_gold
          AND NOT EXISTS (SELECT 1 FROM held)
          AND NOT EXISTS (SELECT 1 FROM annotations a
                          WHERE a.item_id = i.id AND a.rater_id = :r AND a.is_current)
          AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.rater_id = :r)
          AND EXISTS (SELECT 1 FROM normal)
        ORDER BY i.id
        LIMIT 1
    ), took AS (
        UPDATE items SET n_leased = items.n_leased + 1
        FROM pick WHERE items.id = pick.id
        RETURNING items.id, items.external_id, items.data, items.priority, items.n_done
    ), {LEASE_TAIL}
    """
)

# Whether a ``next`` serves a gold item: a coin per call (tests may seed it).
gold_coin = random.Random()


def wants_gold(project: Project) -> bool:
    """Whether this ``next`` serves a gold item: a coin per call, at ``project.gold_rate``."""
    rate = project.gold_rate or 0.0
    return rate > 0 and gold_coin.random() < rate


def lease_gold(
    project: Project, rater: User, mine: Any, normal: Any, now: datetime
) -> tuple[int, datetime] | None:
    """Lease the first gold item ``rater`` has neither answered nor leased (the general path).

    Only while ``normal`` (the open-queue pick) still finds an item for the rater;
    ``mine`` is the "rater answered the item" clause. Returns (item id, lease expiry).
    """
    # Its own statement: inside an EXISTS, SQLite drops the queue's order and walks the
    # project's items by id instead of the open-queue index.
    if db.session.scalar(normal) is None:
        return None
    leased = exists().where(Lease.item_id == Item.id, Lease.rater_id == rater.id)
    item_id = db.session.scalar(
        select(Item.id)
        .where(Item.project_id == project.id, Item.is_gold, ~mine, ~leased)
        .order_by(Item.id)
        .limit(1)
    )
    if item_id is None:
        return None
    db.session.execute(update(Item).where(Item.id == item_id).values(n_leased=Item.n_leased + 1))
    expires = now + timedelta(seconds=project.lease_seconds)
    db.session.add(
        Lease(project_id=project.id, item_id=item_id, rater_id=rater.id, expires_at=expires)
    )
    db.session.commit()
    return int(item_id), expires
