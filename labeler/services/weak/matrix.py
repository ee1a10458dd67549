"""The label matrix ``L`` of a project, read back from the sparse stored votes."""

from __future__ import annotations

from itertools import chain

import numpy as np
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import LabelingFunction, Project, WeakVote
from labeler.services.weak import columns


def label_matrix(
    project: Project, used: list[LabelingFunction], ids: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, L)``: every item of the project (ascending id) by the ``used`` LF versions.

    ``L`` is int8 (int16 past 127 labels), ``-1`` where there is no stored vote.
    """
    item_ids = np.asarray(ids if ids is not None else columns.item_ids(project.id), np.int64)
    dtype = np.int8 if len(project.labels) <= 127 else np.int16
    L = np.full((len(item_ids), len(used)), -1, dtype=dtype)
    if not len(item_ids) or not used:
        return item_ids, L
    col = {lf.id: j for j, lf in enumerate(used)}
    lf_part, item_part, vote_part = [], [], []
    votes = WeakVote.__table__
    # Core rows on the session's connection (no ORM row processing), flattened with
    # fromiter: numpy probing each Row for the array protocol costs seconds per million.
    result = db.session.connection().execute(
        select(votes.c.lf_id, votes.c.item_id, votes.c.vote)
        .where(votes.c.lf_id.in_(list(col)))
        .execution_options(yield_per=50_000)
    )
    for part in result.partitions(50_000):
        flat = np.fromiter(chain.from_iterable(part), dtype=np.int64, count=3 * len(part))
        arr = flat.reshape(-1, 3)
        lf_part.append(arr[:, 0])
        item_part.append(arr[:, 1])
        vote_part.append(arr[:, 2])
    if not lf_part:
        return item_ids, L
    lf_a, item_a, vote_a = (np.concatenate(p) for p in (lf_part, item_part, vote_part))
    pos = np.searchsorted(item_ids, item_a)
    ok = (pos < len(item_ids)) & (item_ids[np.minimum(pos, len(item_ids) - 1)] == item_a)
    ok &= (vote_a >= 0) & (vote_a < len(project.labels))
    lf_sorted = np.asarray(sorted(col), dtype=np.int64)
    order = np.asarray([col[int(i)] for i in lf_sorted], dtype=np.int64)
    cols = order[np.searchsorted(lf_sorted, lf_a[ok])]
    L[pos[ok], cols] = vote_a[ok].astype(dtype)
    return item_ids, L
