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
        """One item's consensus (``default`` when it has no label answer), looked up in the
        arrays: a streaming export asks row by row without a dict of every item."""
        i = int(np.searchsorted(self.item_ids, item_id))
        if i >= len(self.item_ids) or int(self.item_ids[i]) != item_id:
            return default
        row = self.counts[i]
        m, top, code = int(row.sum()), int(row.max()), int(self.label[i])
        conf = float(self.confidence[i]) if code >= 0 else float("nan")
        return ItemConsensus(
            self.labels[code] if code >= 0 else None,
            None if conf != conf else conf,  # NaN -> None
            m,
            top / m if m >= 2 else None,
        )

    def as_items(self) -> dict[int, ItemConsensus]:
        n_answers = self.counts.sum(axis=1)
        top = self.counts.max(axis=1) if len(self.counts) else np.zeros(0, dtype=np.int64)
        has = self.label >= 0
        names = [None, *self.labels]  # code -1 -> None
        label = [names[c + 1] for c in self.label.tolist()]
        confidence = np.where(has & ~np.isnan(self.confidence), self.confidence, np.nan)
        conf = [None if c != c else c for c in confidence.tolist()]  # NaN -> None
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_answers >= 2, top / np.maximum(n_answers, 1), np.nan)
        agreement = [None if a != a else a for a in share.tolist()]
        return {
            item_id: ItemConsensus(lab, c, m, a)
            for item_id, lab, c, m, a in zip(
                self.item_ids.tolist(), label, conf, n_answers.tolist(), agreement, strict=True
            )
        }


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
