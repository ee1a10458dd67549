"""The label matrix ``L`` of a project, read back from the sparse stored votes."""

from __future__ import annotations

import numpy as np

from labeler.models import LabelingFunction, Project
from labeler.services.weak import columns, votes


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
    lf_a, item_a, vote_a = votes.read(list(col), ids)
    if not len(lf_a):
        return item_ids, L
    pos = np.searchsorted(item_ids, item_a)
    ok = (pos < len(item_ids)) & (item_ids[np.minimum(pos, len(item_ids) - 1)] == item_a)
    ok &= (vote_a >= 0) & (vote_a < len(project.labels))
    lf_sorted = np.asarray(sorted(col), dtype=np.int64)
    order = np.asarray([col[int(i)] for i in lf_sorted], dtype=np.int64)
    cols = order[np.searchsorted(lf_sorted, lf_a[ok])]
    L[pos[ok], cols] = vote_a[ok].astype(dtype)
    return item_ids, L
