"""The project's consensus: one label per item from its current human answers.

The one place where the database meets :mod:`labeler.quality.consensus`: the
export (final label, confidence, raters, agreement), the adjudication queue and
anything else that needs "what the raters concluded" call
:func:`project_consensus`, so they cannot disagree. Dawid-Skene and Wawa need
every answer of the project at once (a rater's weight comes from all their
answers), so this reads them all, integer-coded, in one query; a project's fit
is kept in a small cache keyed by the answers' state, so a page that asks twice
does not fit twice (majority vote too: reading 900k answers is the slow part).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import case, func, select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Project
from labeler.quality.consensus import METHODS, aggregate, label_counts
from labeler.services.errors import BadInput
from labeler.services.quality.fetch import int_matrix

__all__ = ["METHODS", "ItemConsensus", "ProjectConsensus", "consensus_table", "project_consensus"]

_CACHE_SIZE = 8
_cache: OrderedDict[tuple[Any, ...], ProjectConsensus] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ItemConsensus:
    """One item's consensus over its current LABEL answers."""

    label: str | None  # None: tie / no votes
    confidence: float | None  # share of votes (mv), Wawa's / Dawid-Skene's posterior of the label
    n_raters: int  # distinct raters with a LABEL answer on the item
    agreement: float | None  # share of the answers equal to the modal label (None if <2 answers)


@dataclass(frozen=True)
class ProjectConsensus:
    """The arrays behind :func:`project_consensus`, indexed like ``item_ids``."""

    method: str
    labels: list[str]  # the project's label set at the time
    item_ids: np.ndarray  # database ids of the items with at least one label answer
    counts: np.ndarray  # (n, k) answers per label
    label: np.ndarray  # (n,) label index, -1: tie / no label
    confidence: np.ndarray  # (n,) NaN where there is no label

    def get(self, item_id: int, default: ItemConsensus) -> ItemConsensus:
        """One item's consensus (``default`` when it has no label answer)."""
        return self.get_many([item_id], default)[0]

    def get_many(
        self, item_ids: Sequence[int] | np.ndarray, default: ItemConsensus
    ) -> list[ItemConsensus]:
        """The consensus of each of ``item_ids`` (``default`` where an item has no label
        answer), looked up in the arrays at once: a streaming export asks a chunk at a time
        without a dict of every item, and without numpy calls per row."""
        ids = np.asarray(item_ids, dtype=np.int64)
        if not len(self.item_ids) or not len(ids):
            return [default] * len(ids)
        pos = np.minimum(np.searchsorted(self.item_ids, ids), len(self.item_ids) - 1)
        found = (self.item_ids[pos] == ids).tolist()
        counts = self.counts[pos]
        n_answers = counts.sum(axis=1)
        top = counts.max(axis=1)
        code = self.label[pos]
        conf = np.where(code >= 0, self.confidence[pos], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_answers >= 2, top / np.maximum(n_answers, 1), np.nan)
        names = [None, *self.labels]  # code -1 -> None
        return [
            ItemConsensus(
                names[c + 1],
                None if f != f else f,  # NaN -> None
                m,
                None if a != a else a,
            )
            if hit
            else default
            for hit, c, f, m, a in zip(
                found, code.tolist(), conf.tolist(), n_answers.tolist(), share.tolist(), strict=True
            )
        ]

    def as_items(self) -> dict[int, ItemConsensus]:
        """Every item with a label answer -> its consensus."""
        unused = ItemConsensus(None, None, 0, None)
        return dict(zip(self.item_ids.tolist(), self.get_many(self.item_ids, unused), strict=True))


def _method(project: Project, method: str | None) -> str:
    chosen = method or project.consensus_method or "mv"
    if chosen not in METHODS:
        raise BadInput(
            f"consensus: unknown method {chosen!r} (one of {', '.join(METHODS)})",
            {"field": "consensus"},
        )
    return chosen


def _label_answers(project: Project, names: list[str]) -> np.ndarray:
    """(item id, rater id, label position) of every current LABEL answer of a label in ``names``."""
    code = case({n: i for i, n in enumerate(names)}, value=Annotation.label, else_=-1)
    return int_matrix(
        select(Annotation.item_id, Annotation.rater_id, code).where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
            Annotation.label.in_(names),
        )
    )


def _state(project: Project) -> tuple[int, int]:
    """What changes whenever the current answers do: (count of current answers, newest id)."""
    n, newest = db.session.execute(
        select(func.count(Annotation.id), func.coalesce(func.max(Annotation.id), 0)).where(
            Annotation.project_id == project.id, Annotation.is_current
        )
    ).one()
    return int(n), int(newest)


def consensus_table(project: Project, method: str | None = None) -> ProjectConsensus:
    """The consensus of every answered item of ``project`` as arrays (see :class:`ProjectConsensus`).

    ``method`` None is the project's ``consensus_method``. The result is cached until
    the project's current answers (or its label set) change.
    """
    chosen = _method(project, method)
    names = project.label_names
    created = project.created_at.isoformat() if project.created_at else ""
    key = (str(db.engine.url), project.id, created, chosen, tuple(names), _state(project))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    table = _label_answers(project, names) if names else np.zeros((0, 3), dtype=np.int64)
    item_ids, item = np.unique(table[:, 0], return_inverse=True)
    rater_ids, rater = np.unique(table[:, 1], return_inverse=True)
    label = table[:, 2]
    k = len(names)
    result = aggregate(chosen, item, rater, label, len(item_ids), len(rater_ids), k)
    found = ProjectConsensus(
        chosen,
        list(names),
        item_ids,
        label_counts(item, label, len(item_ids), k),
        result.labels,
        result.confidence,
    )
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def project_consensus(project: Project, method: str | None = None) -> dict[int, ItemConsensus]:
    """item id -> consensus over current LABEL annotations; method None = the project's setting
    (default "mv"). Items without any answer are absent."""
    return consensus_table(project, method).as_items()
