"""Publishing one chunk of a staged batch into items, gold labels and weak votes.

Each call is one short transaction that locks the batch row, moves the next
``size`` staged rows, deletes them from staging and advances the cursor:
repeating a call after a crash neither skips nor repeats a row.

Items are matched by external id: a new id creates an item, a changed row
updates it (and drops its stored vectors when its text changed), an identical
one counts as unchanged. Gold labels and WRENCH votes
given in a row replace the stored ones of that item; a row without them leaves
the stored ones alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import (
    GoldLabel,
    ImportBatch,
    ImportRow,
    Item,
    ItemVector,
    LabelingFunction,
    Project,
    WeakDirtyItem,
)
from labeler.models.types import utcnow
from labeler.services.errors import Conflict
from labeler.services.weak import votes as vote_store

_RETRIES = 5


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def publish_chunk(batch_id: int, size: int) -> bool:
    """Publish the next ``size`` staged rows of the batch; True once it is all published."""
    for _ in range(_RETRIES):
        try:
            return _publish_chunk(batch_id, size)
        except IntegrityError:
            # Another import created the same item (or labeling function) meanwhile:
            # run the chunk again, which now finds and updates it.
            db.session.rollback()
    raise Conflict(
        "other imports keep writing the same rows; this import is accepted and will "
        "be finished by the next import of the project"
    )


def _publish_chunk(batch_id: int, size: int) -> bool:
    locked = select(ImportBatch).where(ImportBatch.id == batch_id)
    if db.session.get_bind().dialect.name == "postgresql":
        locked = locked.with_for_update()
    batch = db.session.execute(locked.execution_options(populate_existing=True)).scalar_one()
    if batch.status != "publishing":
        db.session.commit()
        return True
    rows = db.session.execute(
        select(
            ImportRow.seq,
            ImportRow.external_id,
            ImportRow.data,
            ImportRow.priority,
            ImportRow.gold,
            ImportRow.gold_source,
            ImportRow.votes,
        )
        .where(ImportRow.batch_id == batch_id, ImportRow.seq >= batch.published_upto)
        .order_by(ImportRow.seq)
        .limit(size)
    ).all()
    now = utcnow()
    if not rows:
        batch.status, batch.updated_at = "published", now
        db.session.commit()
        return True
    counts = _write(batch.project_id, list(rows), now)
    db.session.execute(
        delete(ImportRow).where(ImportRow.batch_id == batch_id, ImportRow.seq <= rows[-1].seq)
    )
    batch.published_upto = rows[-1].seq + 1
    batch.n_created += counts.created
    batch.n_updated += counts.updated
    batch.n_unchanged += counts.unchanged
    batch.updated_at = now
    db.session.commit()
    return False


def _write(project_id: int, rows: list[Any], now: datetime) -> _Counts:
    counts = _Counts()
    stored = {
        r.external_id: r
        for r in db.session.execute(
            select(Item.external_id, Item.id, Item.data, Item.priority).where(
                Item.project_id == project_id,
                Item.external_id.in_([row.external_id for row in rows]),
            )
        )
    }
    stored_data = {r.id: r.data for r in stored.values()}
    lfs = _wrench_lfs(project_id, max((len(r.votes) for r in rows if r.votes), default=0), now)
    known = [stored[r.external_id].id for r in rows if r.external_id in stored]
    gold = _stored_gold(known) if any(r.gold for r in rows) else {}
    votes = _stored_votes(known, lfs) if any(r.votes is not None for r in rows) else {}
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    retext: list[int] = []
    field = db.session.get_one(Project, project_id).text_field
    hidden: list[Any] = []
    for row in rows:
        old = stored.get(row.external_id)
        if old is None:
            new.append(_new_item(project_id, row, now))
            hidden.append(row)
            continue
        priority = old.priority if row.priority is None else row.priority
        gold_same = row.gold is None or gold.get(old.id) == row.gold
        votes_same = row.votes is None or votes.get(old.id, {}) == _sparse(row.votes)
        if old.data != row.data or priority != old.priority:
            changed.append({"id": old.id, "data": row.data, "priority": priority})
            if _text(old.data, field) != _text(row.data, field):
                retext.append(old.id)
        elif gold_same and votes_same:
            counts.unchanged += 1
            continue
        if not (gold_same and votes_same):
            hidden.append(row)
    if new:
        db.session.execute(insert(Item), new)
    if changed:
        db.session.execute(update(Item), changed)
        _mark_dirty(project_id, [c["id"] for c in changed if c["data"] != stored_data[c["id"]]])
    if retext:
        # Vectors of the old text must not be reused: the item is embedded again (the
        # import queues it). The embed job re-checks texts under a lock (vectors.embed_missing).
        db.session.execute(delete(ItemVector).where(ItemVector.item_id.in_(retext)))
    counts.created, counts.updated = len(new), len(rows) - len(new) - counts.unchanged
    if hidden:
        ids: dict[str, int] = {
            external_id: item_id
            for external_id, item_id in db.session.execute(
                select(Item.external_id, Item.id).where(
                    Item.project_id == project_id,
                    Item.external_id.in_([r.external_id for r in hidden]),
                )
            )
        }
        _write_gold(project_id, [r for r in hidden if r.gold], ids, now)
        write_votes([r for r in hidden if r.votes is not None], ids, lfs)
    return counts


def _text(data: Any, field: str) -> Any:
    return data.get(field) if isinstance(data, dict) else data


def _mark_dirty(project_id: int, item_ids: list[int]) -> None:
    """Items whose data changed: LFs voted on the old data, so the next apply redoes them."""
    if not item_ids:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(WeakDirtyItem).on_conflict_do_nothing(index_elements=["item_id"]),
        [{"item_id": i, "project_id": project_id} for i in item_ids],
    )


def _new_item(project_id: int, row: Any, now: datetime) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "external_id": row.external_id,
        "data": row.data,
        "priority": 0.0 if row.priority is None else row.priority,
        "n_done": 0,
        "n_leased": 0,
        "is_open": True,
        "created_at": now,
    }


def _sparse(votes: list[int]) -> dict[int, int]:
    return {column: vote for column, vote in enumerate(votes) if vote != -1}


def _wrench_lfs(project_id: int, n: int, now: datetime) -> list[int]:
    """Ids of the project's external LFs ``wrench_0`` .. ``wrench_{n-1}``, created if missing."""
    return external_lfs(project_id, [f"wrench_{k}" for k in range(n)], now)


def external_lfs(project_id: int, names: list[str], now: datetime) -> list[int]:
    """Ids of the project's external LFs ``names`` (version 1), created if missing, in order.

    Also used by ``labeler lf import-matrix``; the caller makes sure no declarative or
    python LF holds one of the names.
    """
    if not names:
        return []
    query = select(LabelingFunction.name, LabelingFunction.id).where(
        LabelingFunction.project_id == project_id,
        LabelingFunction.name.in_(names),
        LabelingFunction.version == 1,
    )
    found: dict[str, int] = {name: lf_id for name, lf_id in db.session.execute(query)}
    missing = [name for name in names if name not in found]
    if missing:
        db.session.execute(
            insert(LabelingFunction),
            [
                {
                    "project_id": project_id,
                    "name": name,
                    "kind": "external",
                    "version": 1,
                    "active": True,
                    "created_at": now,
                }
                for name in missing
            ],
        )
        found = {name: lf_id for name, lf_id in db.session.execute(query)}
    return [found[name] for name in names]


def _stored_gold(item_ids: list[int]) -> dict[int, str]:
    if not item_ids:
        return {}
    query = select(GoldLabel.item_id, GoldLabel.label).where(GoldLabel.item_id.in_(item_ids))
    return {item_id: label for item_id, label in db.session.execute(query)}


def _stored_votes(item_ids: list[int], lfs: list[int]) -> dict[int, dict[int, int]]:
    if not item_ids or not lfs:
        return {}
    column = {lf_id: k for k, lf_id in enumerate(lfs)}
    out: dict[int, dict[int, int]] = {}
    lf_a, item_a, vote_a = vote_store.read(lfs, item_ids)
    for lf_id, item_id, vote in zip(lf_a.tolist(), item_a.tolist(), vote_a.tolist(), strict=True):
        out.setdefault(item_id, {})[column[lf_id]] = vote
    return out


def _write_gold(project_id: int, rows: list[Any], ids: dict[str, int], now: datetime) -> None:
    if not rows:
        return
    item_ids = [ids[r.external_id] for r in rows]
    db.session.execute(delete(GoldLabel).where(GoldLabel.item_id.in_(item_ids)))
    db.session.execute(
        insert(GoldLabel),
        [
            {
                "project_id": project_id,
                "item_id": ids[r.external_id],
                "label": r.gold,
                "source": r.gold_source or "import",
                "created_at": now,
            }
            for r in rows
        ],
    )


def write_votes(rows: list[Any], ids: dict[str, int], lfs: list[int]) -> None:
    """Replace the votes of ``lfs`` on the rows' items with their ``votes`` (-1: none stored).

    ``rows``: objects with ``external_id`` and ``votes`` (column k votes for ``lfs[k]``).
    """
    if not rows or not lfs:
        return
    item_ids = np.asarray([ids[r.external_id] for r in rows], dtype=np.int64)
    L = np.full((len(rows), len(lfs)), -1, dtype=np.int64)
    for r, row in enumerate(rows):
        for column, vote in _sparse(row.votes or []).items():
            L[r, column] = vote
    vote_store.replace(lfs, item_ids, L)
