"""The assignment engine: which item a rater gets next, leases, annotating, undo.

Invariants kept here (DESIGN.md):
- an item gets at most ``overlap`` labels from distinct raters; leases count
  against that budget while they live, and an expired lease gives its slot back;
- no rater gets the same item twice (a partial unique index backs this up);
- annotate is one short transaction: insert, release the lease, bump counters.

``next`` never scans the pool: it walks the partial index of open items by
priority and takes the first row it can lock (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite every transaction holds the single write lock).

Gold items (an engineer's items with a known answer) are never open: with
probability ``project.gold_rate`` a ``next`` serves instead the first gold item
(by id, on their own partial index) this rater has neither answered nor leased,
as long as a normal item is left for them too (so an empty queue never turns into
a queue of gold items, which would give them away). Served like any item (same
JSON, same lease); their leases and answers keep the item's counters honest but
never open it or fill a normal slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Lease, Project, User
from labeler.models.items import open_after
from labeler.models.types import utcnow
from labeler.services.errors import BadInput, Conflict, NotFound
from labeler.services.gold_queue import NEXT_GOLD_PG, lease_gold, wants_gold


@dataclass(frozen=True)
class Assignment:
    item: Item
    expires_at: datetime


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _rowcount(statement: Any) -> int:
    """Rows an UPDATE or DELETE touched."""
    result: CursorResult[Any] = db.session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


_RATER_LOCK_PG = text("SELECT pg_advisory_xact_lock(:p, :r)")


def _lock_rater(project: Project, rater: User) -> None:
    """Serialise this rater's lease-making calls in ``project`` until the transaction ends.

    Without it, parallel ``next`` calls of one rater on PostgreSQL each see no
    held lease (none is committed yet) and each lease a different item. The lock
    is its own statement on purpose: under READ COMMITTED the statements after
    it take a new snapshot, so they see the lease the previous holder committed.
    On SQLite every transaction already holds the single write lock.
    """
    if _is_postgres():
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


def _current_lease(project: Project, rater: User, now: datetime) -> Lease | None:
    return db.session.scalar(
        select(Lease)
        .where(Lease.project_id == project.id, Lease.rater_id == rater.id, Lease.expires_at > now)
        .order_by(Lease.id)
        .limit(1)
    )


def _release_lease(lease: Lease, project: Project) -> None:
    db.session.delete(lease)
    db.session.execute(
        update(Item)
        .where(Item.id == lease.item_id)
        .values(
            n_leased=Item.n_leased - 1,
            is_open=open_after(Item.n_done + Item.n_leased - 1, project.overlap),
        )
    )


_NEXT_PG = text(
    """
    WITH held AS (
        SELECT item_id, expires_at FROM leases
        WHERE project_id = :p AND rater_id = :r AND expires_at > :now
        ORDER BY id LIMIT 1
    ), pick AS (
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
    ), lease AS (
        INSERT INTO leases (project_id, item_id, rater_id, created_at, expires_at)
        SELECT :p, took.id, :r, :now, :exp FROM took
        RETURNING item_id
    )
    SELECT took.id, took.external_id, took.data, took.priority, took.n_done,
           CAST(:exp AS timestamptz) AS expires_at
    FROM took
    UNION ALL
    SELECT i.id, i.external_id, i.data, i.priority, i.n_done, held.expires_at
    FROM held JOIN items i ON i.id = held.item_id
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
    _lock_rater(project, rater)
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
    if now is None and _is_postgres():
        got = _next_item_pg(project, rater, gold)
        if got is not None:
            return got
    now = now or utcnow()
    _lock_rater(project, rater)
    reclaim_expired(project, now)
    held = _current_lease(project, rater, now)
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
    if _is_postgres():
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
        taken = _rowcount(
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


def _check_duration(duration_ms: Any) -> None:
    if duration_ms is not None and (not isinstance(duration_ms, int) or duration_ms < 0):
        raise BadInput("duration_ms must be a non-negative integer", {"field": "duration_ms"})


def _full(project: Project, external_id: str) -> Conflict:
    return Conflict(
        f"item {external_id!r} already has {project.overlap} answers",
        {"item": external_id, "overlap": project.overlap, "reason": "full"},
    )


def _answer_dict(ann: Annotation, external_id: str) -> dict[str, Any]:
    return {
        "id": ann.id,
        "item": external_id,
        "kind": ann.kind,
        "label": ann.label,
        "created_at": ann.created_at.isoformat(),
    }


def _not_replaced(previous: Annotation | None, external_id: str, replaces: int) -> Conflict:
    if previous is None:
        return Conflict(
            f"annotation {replaces} is no longer your answer to item {external_id!r}",
            {"item": external_id, "reason": "stale", "current": None},
        )
    return _already_answered(previous, external_id)


def _already_answered(previous: Annotation, external_id: str) -> Conflict:
    said = previous.label if previous.kind == AnnotationKind.LABEL.value else previous.kind
    return Conflict(
        f"you already answered item {external_id!r} with {said!r} "
        f"(annotation {previous.id}); send replaces={previous.id} to change it",
        {
            "item": external_id,
            "reason": "answered",
            "current": _answer_dict(previous, external_id),
        },
    )


def validate_answer(project: Project, label: Any, kind: str | None) -> tuple[str, str | None]:
    """Normalise an answer to (kind, label); a label not in the set is a 400."""
    kind = kind or AnnotationKind.LABEL.value
    if kind not in {k.value for k in AnnotationKind}:
        raise BadInput(f"unknown annotation kind {kind!r}", {"field": "kind"})
    if kind == AnnotationKind.LABEL.value:
        if label in (AnnotationKind.SKIP.value, AnnotationKind.UNSURE.value) and (
            label not in project.label_names
        ):
            return str(label), None
        if not isinstance(label, str) or label not in project.label_names:
            raise BadInput(
                f"label {label!r} is not in the project's label set",
                {"field": "label", "allowed": project.label_names},
            )
        return kind, label
    return kind, None


_LOCK_PG = text(
    """
    SELECT i.id, i.external_id, i.n_done, i.n_leased, i.is_gold, a.id AS prev_id
    FROM items i
    LEFT JOIN annotations a ON a.item_id = i.id AND a.rater_id = :r AND a.is_current
    WHERE i.project_id = :p AND i.external_id = :x
    FOR UPDATE OF i
    """
)
_WRITE_PG = text(
    """
    WITH released AS (
        DELETE FROM leases WHERE item_id = :i AND rater_id = :r RETURNING 1
    ), ins AS (
        INSERT INTO annotations (project_id, item_id, rater_id, kind, label, duration_ms, origin,
                                 created_at, is_current)
        VALUES (:p, :i, :r, :kind, :label, :dur, :origin, :now, true)
        RETURNING id, created_at
    ), upd AS (
        UPDATE items SET n_done = items.n_done + :dd,
                         n_leased = items.n_leased - (SELECT count(*) FROM released),
                         is_open = NOT items.is_gold
                                   AND items.n_done + :dd + items.n_leased
                                       - (SELECT count(*) FROM released) < :k
        WHERE items.id = :i
    )
    SELECT ins.id, ins.created_at, (SELECT count(*) FROM released) AS released,
           EXISTS (SELECT 1 FROM training_rounds t WHERE t.project_id = :p
                   AND t.status IN ('queued', 'running')) AS round_in_flight
    FROM ins
    """
)


@dataclass(frozen=True)
class Answered:
    id: int
    item: str
    kind: str
    label: str | None
    created_at: datetime
    # Whether a training round was queued or running (None: not checked).
    round_in_flight: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "kind": self.kind,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
        }


def answer(
    project: Project,
    rater: User,
    ref: str,
    label: Any,
    *,
    kind: str | None = None,
    duration_ms: int | None = None,
    origin: str = "api",
    replaces: int | None = None,
) -> Answered:
    """Record an answer on the item with external id ``ref``.

    A rater's second, different answer to an item must name the answer it
    replaces (``replaces``): an answer from a stale page is a Conflict, never a
    silent overwrite.

    On PostgreSQL the common case (a first answer with a valid label) takes two
    statements; everything else (changes of answer, errors, SQLite) goes through
    :func:`annotate`, which keeps the history and produces the precise errors.
    """
    if _is_postgres() and replaces is None:
        fast = annotate_pg(
            project, rater, ref, label, kind=kind, duration_ms=duration_ms, origin=origin
        )
        if fast is not None:
            return fast
    item = find_item(project, ref)
    ann = annotate(
        project,
        rater,
        item,
        label,
        kind=kind,
        duration_ms=duration_ms,
        origin=origin,
        replaces=replaces,
    )
    return Answered(ann.id, item.external_id, ann.kind, ann.label, ann.created_at)


def annotate_pg(
    project: Project,
    rater: User,
    ref: str,
    label: Any,
    *,
    kind: str | None = None,
    duration_ms: int | None = None,
    origin: str = "api",
) -> Answered | None:
    """The common case in two statements (PostgreSQL); None means: use ``annotate``."""
    names = project.label_names
    kind = kind or AnnotationKind.LABEL.value
    if kind == AnnotationKind.LABEL.value and (not isinstance(label, str) or label not in names):
        return None  # let the general path produce the right error or special case
    if kind not in {k.value for k in AnnotationKind}:
        return None
    if kind != AnnotationKind.LABEL.value:
        label = None
    _check_duration(duration_ms)
    row = db.session.execute(_LOCK_PG, {"p": project.id, "r": rater.id, "x": str(ref)}).first()
    if row is None:
        db.session.rollback()
        raise NotFound(f"no item {ref!r} in project {project.name!r}", {"item": str(ref)})
    if row.prev_id is not None:
        db.session.rollback()
        return None  # a change of answer: the general path keeps the history
    counts = kind != AnnotationKind.SKIP.value
    now = utcnow()
    try:
        out = _write_pg(
            {
                "p": project.id,
                "i": row.id,
                "r": rater.id,
                "kind": kind,
                "label": label,
                "dur": duration_ms,
                "origin": origin,
                "now": now,
                "dd": int(counts),
                "k": project.overlap,
            }
        )
    except IntegrityError:
        # The same rater's answer to this item committed while we waited for the
        # item's lock (our join read the annotations before it): the general path
        # reads them afresh and treats it as a repeat or a change.
        db.session.rollback()
        return None
    full = row.n_done + row.n_leased >= project.overlap
    if counts and not out.released and full and not row.is_gold:
        db.session.rollback()
        raise _full(project, row.external_id)
    db.session.commit()
    return Answered(out.id, row.external_id, kind, label, out.created_at, bool(out.round_in_flight))


def _write_pg(params: dict[str, Any]) -> Any:
    return db.session.execute(_WRITE_PG, params).one()


def annotate(
    project: Project,
    rater: User,
    item: Item,
    label: Any,
    *,
    kind: str | None = None,
    duration_ms: int | None = None,
    origin: str = "api",
    replaces: int | None = None,
) -> Annotation:
    """Record ``rater``'s answer on ``item`` in one short transaction.

    The same answer again is idempotent (the current annotation is returned). A
    different answer by the same rater is a change only when ``replaces`` names
    the rater's current annotation (both rows are kept); otherwise a Conflict
    naming the current answer, so a stale page never overwrites silently.
    Raises Conflict when the item already has ``overlap`` answers and the rater
    holds no lease on it.
    """
    kind, label = validate_answer(project, label, kind)
    _check_duration(duration_ms)
    now = utcnow()
    locked = select(Item).where(Item.id == item.id)
    if _is_postgres():
        locked = locked.with_for_update()
    row = db.session.execute(locked.execution_options(populate_existing=True)).scalar_one()

    previous = db.session.scalar(
        select(Annotation).where(
            Annotation.item_id == row.id,
            Annotation.rater_id == rater.id,
            Annotation.is_current,
        )
    )
    if previous is not None and previous.kind == kind and previous.label == label:
        # The same answer again (a double submit, a retry after a lost response):
        # idempotent, the current annotation stands and nothing new is recorded.
        db.session.commit()
        return previous
    if replaces is not None and (previous is None or previous.id != replaces):
        db.session.rollback()
        raise _not_replaced(previous, row.external_id, replaces)
    if previous is not None and replaces is None:
        db.session.rollback()
        raise _already_answered(previous, row.external_id)
    released = _rowcount(delete(Lease).where(Lease.item_id == row.id, Lease.rater_id == rater.id))
    new = Annotation(
        project_id=project.id,
        item_id=row.id,
        rater_id=rater.id,
        kind=kind,
        label=label,
        duration_ms=duration_ms,
        origin=origin,
        created_at=now,
    )
    counts = new.counts
    n_done, n_leased = row.n_done, row.n_leased - released
    if previous is not None:
        previous.is_current = False
        previous.retracted_at = now
        db.session.flush()  # the partial unique index sees one current row at a time
        n_done -= int(previous.counts)
    needs_slot = counts and (previous is None or not previous.counts)
    # A lease the rater held was released just above and frees the slot it needs.
    # Gold items have no overlap budget: every rater answers them once.
    full = n_done + n_leased >= project.overlap and not row.is_gold
    if needs_slot and not released and full:
        db.session.rollback()
        raise _full(project, row.external_id)
    n_done += int(counts)
    db.session.add(new)
    db.session.execute(
        update(Item)
        .where(Item.id == row.id)
        .values(
            n_done=n_done,
            n_leased=n_leased,
            is_open=not row.is_gold and (n_done + n_leased) < project.overlap,
        )
    )
    db.session.commit()
    return new


def undo_last(project: Project, rater: User) -> Assignment:
    """Retract ``rater``'s most recent answer in ``project`` and lease that item back to them."""
    now = utcnow()
    last = db.session.scalar(
        select(Annotation)
        .where(
            Annotation.project_id == project.id,
            Annotation.rater_id == rater.id,
            Annotation.is_current,
            Annotation.origin != "import",
        )
        .order_by(Annotation.id.desc())
        .limit(1)
    )
    if last is None:
        raise NotFound("nothing to undo")
    _lock_rater(project, rater)
    locked = select(Item).where(Item.id == last.item_id)
    if _is_postgres():
        locked = locked.with_for_update()
    item = db.session.execute(locked.execution_options(populate_existing=True)).scalar_one()
    n_done = item.n_done - int(last.counts)
    n_leased = item.n_leased
    if n_done + n_leased >= project.overlap and not item.is_gold:
        db.session.rollback()
        raise Conflict(
            "that item has since been filled by other raters", {"item": item.external_id}
        )
    # The rater is looking at another item now: give that one back first.
    for held in db.session.scalars(
        select(Lease).where(Lease.project_id == project.id, Lease.rater_id == rater.id)
    ):
        if held.item_id == item.id:
            n_leased -= 1
            db.session.delete(held)
        else:
            _release_lease(held, project)
    db.session.flush()
    last.is_current = False
    last.retracted_at = now
    expires = now + timedelta(seconds=project.lease_seconds)
    db.session.add(
        Lease(project_id=project.id, item_id=item.id, rater_id=rater.id, expires_at=expires)
    )
    n_leased += 1
    db.session.execute(
        update(Item)
        .where(Item.id == item.id)
        .values(
            n_done=n_done,
            n_leased=n_leased,
            is_open=not item.is_gold and (n_done + n_leased) < project.overlap,
        )
    )
    db.session.commit()
    db.session.refresh(item)
    return Assignment(item, expires)


def release(project: Project, rater: User) -> int:
    """Give back the rater's leases in ``project`` (e.g. on logout)."""
    n = 0
    for held in db.session.scalars(
        select(Lease).where(Lease.project_id == project.id, Lease.rater_id == rater.id)
    ):
        _release_lease(held, project)
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
