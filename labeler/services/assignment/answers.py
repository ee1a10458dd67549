"""Answers: recording, changing and undoing a rater's answer to an item.

annotate is one short transaction: insert, release the lease, bump counters; on
PostgreSQL a first answer takes two statements (:func:`annotate_pg`). A rater's
second, different answer must name the one it replaces, so a stale page never
overwrites silently; the history keeps both rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Lease, Project, User
from labeler.models.types import utcnow
from labeler.services.assignment.leases import (
    Assignment,
    find_item,
    is_postgres,
    lock_rater,
    release_lease,
    rowcount,
)
from labeler.services.errors import BadInput, Conflict, NotFound


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
    if is_postgres() and replaces is None:
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
    if is_postgres():
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
    released = rowcount(delete(Lease).where(Lease.item_id == row.id, Lease.rater_id == rater.id))
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
    lock_rater(project, rater)
    locked = select(Item).where(Item.id == last.item_id)
    if is_postgres():
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
            release_lease(held, project)
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
