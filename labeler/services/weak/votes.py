"""The vote store: LF votes kept sparsely, packed in blocks of item-id ranges.

The only module that reads or writes :class:`WeakVoteBlock`. A block holds one LF
version's non-abstain votes on the items with ids in ``[lo, hi]`` and is the whole
truth for that range. Writing is either appending a block past the LF's last one
(an apply's chunk of new items: one row per LF and chunk, whatever the coverage) or
replacing votes on some items (a re-import, a changed item), which rewrites the
blocks those items fall in as one merged block. Reading decodes blocks into
``(lf, item, vote)`` arrays; items deleted since stay in old blocks and are dropped
by readers that map item ids to rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, func, insert, select

from labeler.extensions import db
from labeler.models import WeakVoteBlock

_OFF = np.dtype("<u4")
_VOTE = np.dtype("<i2")
_MAX_SPAN = int(np.iinfo(_OFF).max)


def _rows(
    lf_id: int, items: np.ndarray, votes: np.ndarray, lo: int, hi: int
) -> list[dict[str, Any]]:
    """Blocks for the sorted non-abstain ``items`` of one LF covering ``[lo, hi]``."""
    out = []
    while True:
        end = hi if hi - lo <= _MAX_SPAN else lo + _MAX_SPAN
        k = int(np.searchsorted(items, end, side="right"))
        part, vpart = items[:k], votes[:k]
        out.append(
            {
                "lf_id": lf_id,
                "lo": lo,
                "hi": end,
                "n": len(part),
                "items": (part - lo).astype(_OFF).tobytes(),
                "votes": vpart.astype(_VOTE).tobytes(),
            }
        )
        if end >= hi:
            return out
        items, votes, lo = items[k:], votes[k:], end + 1


def append_blocks(blocks: Sequence[tuple[int, np.ndarray, np.ndarray, int]], hi: int) -> None:
    """Several LFs' votes on new items in one statement: ``(lf_id, item_ids, votes, lo)``
    each (-1 abstains), every block ending at ``hi``."""
    rows = []
    for lf_id, item_ids, col, lo in blocks:
        col = np.asarray(col)
        keep = col >= 0
        rows.extend(_rows(int(lf_id), np.asarray(item_ids, np.int64)[keep], col[keep], lo, hi))
    if rows:
        db.session.execute(insert(WeakVoteBlock), rows)


def _decode(lo: int, items: bytes, votes: bytes) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.frombuffer(items, dtype=_OFF).astype(np.int64) + int(lo),
        np.frombuffer(votes, dtype=_VOTE).astype(np.int64),
    )


def replace(lf_ids: Sequence[int], item_ids: np.ndarray, L: np.ndarray) -> None:
    """Set the votes of ``lf_ids`` on ``item_ids`` to ``L`` (-1: abstain), keeping every
    other vote: the blocks the items fall in are merged and rewritten."""
    item_ids = np.asarray(item_ids, dtype=np.int64)
    if not len(item_ids):
        return
    order = np.argsort(item_ids, kind="stable")
    item_ids, L = item_ids[order], np.asarray(L)[order]
    lo_new, hi_new = int(item_ids[0]), int(item_ids[-1])
    for j, lf_id in enumerate(lf_ids):
        old = db.session.execute(
            select(WeakVoteBlock.lo, WeakVoteBlock.items, WeakVoteBlock.votes, WeakVoteBlock.hi)
            .where(
                WeakVoteBlock.lf_id == lf_id,
                WeakVoteBlock.lo <= hi_new,
                WeakVoteBlock.hi >= lo_new,
            )
            .order_by(WeakVoteBlock.lo)
        ).all()
        items_parts, vote_parts = [], []
        lo, hi = lo_new, hi_new
        for block in old:
            its, vs = _decode(block.lo, block.items, block.votes)
            keep = ~np.isin(its, item_ids)
            items_parts.append(its[keep])
            vote_parts.append(vs[keep])
            lo, hi = min(lo, int(block.lo)), max(hi, int(block.hi))
        col = np.asarray(L[:, j])
        voted = col >= 0
        items_parts.append(item_ids[voted])
        vote_parts.append(col[voted].astype(np.int64))
        its, vs = np.concatenate(items_parts), np.concatenate(vote_parts)
        o = np.argsort(its, kind="stable")
        if old:
            db.session.execute(
                delete(WeakVoteBlock).where(
                    WeakVoteBlock.lf_id == lf_id,
                    WeakVoteBlock.lo.in_([int(b.lo) for b in old]),
                )
            )
        db.session.execute(insert(WeakVoteBlock), _rows(int(lf_id), its[o], vs[o], lo, hi))


def drop(lf_ids: Sequence[int]) -> None:
    """Forget every vote of ``lf_ids``."""
    if lf_ids:
        db.session.execute(delete(WeakVoteBlock).where(WeakVoteBlock.lf_id.in_(list(lf_ids))))


def count(lf_id: int) -> int:
    """How many votes (non-abstains) ``lf_id`` has stored."""
    return int(
        db.session.scalar(select(func.sum(WeakVoteBlock.n)).where(WeakVoteBlock.lf_id == lf_id))
        or 0
    )


def read(
    lf_ids: Sequence[int], item_ids: Sequence[int] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lf, item, vote)`` arrays of the stored votes of ``lf_ids`` (on ``item_ids`` only,
    when given: then only the blocks around them are read)."""
    empty = np.zeros(0, dtype=np.int64)
    if not len(lf_ids):
        return empty, empty, empty
    query = select(WeakVoteBlock.lo, WeakVoteBlock.items, WeakVoteBlock.votes, WeakVoteBlock.lf_id)
    query = query.where(WeakVoteBlock.lf_id.in_([int(x) for x in lf_ids]))
    wanted = None
    if item_ids is not None:
        wanted = np.unique(np.asarray(item_ids, dtype=np.int64))
        if not len(wanted):
            return empty, empty, empty
        query = query.where(
            and_(WeakVoteBlock.lo <= int(wanted[-1]), WeakVoteBlock.hi >= int(wanted[0]))
        )
    lf_part, item_part, vote_part = [], [], []
    for block in db.session.connection().execute(query):
        its, vs = _decode(block.lo, block.items, block.votes)
        if wanted is not None:
            keep = np.isin(its, wanted, assume_unique=True)
            its, vs = its[keep], vs[keep]
        lf_part.append(np.full(len(its), int(block.lf_id), dtype=np.int64))
        item_part.append(its)
        vote_part.append(vs)
    if not lf_part:
        return empty, empty, empty
    return np.concatenate(lf_part), np.concatenate(item_part), np.concatenate(vote_part)


def of_lf(lf_id: int) -> dict[int, int]:
    """item id -> vote of one LF (for tests and small views)."""
    _, items, votes = read([lf_id])
    return dict(zip(items.tolist(), votes.tolist(), strict=True))


def total() -> int:
    """Votes stored over every LF (for tests)."""
    return int(db.session.scalar(select(func.sum(WeakVoteBlock.n))) or 0)
