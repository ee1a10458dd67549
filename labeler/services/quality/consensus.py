"""The project's consensus per item, for exports (and, later, adjudication).

A minimal majority-vote version of the interface agreed in
``notes/consensus_interface.md``; the adjudication branch replaces it with Wawa
and Dawid-Skene (crowd-kit). Answers are streamed in item order, so memory holds
one entry per answered item, never the answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Project
from labeler.quality.consensus import majority

__all__ = ["METHODS", "ItemConsensus", "project_consensus"]

METHODS = ("mv", "wawa", "dawid-skene")


@dataclass(frozen=True)
class ItemConsensus:
    label: str | None  # None: tie / no votes
    confidence: float | None  # share of votes (mv), the aggregator's posterior otherwise
    n_raters: int  # distinct raters with a LABEL answer on the item
    agreement: float | None  # share of the answers equal to the modal label (None if <2)


def _agreement(votes: list[str]) -> float | None:
    if len(votes) < 2:
        return None
    return Counter(votes).most_common(1)[0][1] / len(votes)


def project_consensus(project: Project, method: str | None = None) -> dict[int, ItemConsensus]:
    """item id -> consensus over current LABEL annotations (majority vote only here)."""
    method = method or "mv"
    if method not in METHODS:
        raise ValueError(f"unknown consensus method {method!r}")
    if method != "mv":
        return _aggregated(project, method)
    out: dict[int, ItemConsensus] = {}
    rows = db.session.connection().execute(
        select(Annotation.item_id, Annotation.label)
        .where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
        )
        .order_by(Annotation.item_id)
        .execution_options(yield_per=20_000)
    )
    # Items with the same answers share one (immutable) ItemConsensus: with a few
    # raters per item there are few distinct answer sets, so memory is the dict alone.
    shared: dict[tuple[str, ...], ItemConsensus] = {}
    current: int | None = None
    votes: list[str] = []
    for item_id, label in rows:
        if item_id != current:
            if votes:
                out[current] = _shared(shared, votes)  # type: ignore[index]
            current, votes = item_id, []
        votes.append(label)
    if votes:
        out[current] = _shared(shared, votes)  # type: ignore[index]
    return out


def _shared(shared: dict[tuple[str, ...], ItemConsensus], votes: list[str]) -> ItemConsensus:
    key = tuple(sorted(votes))
    got = shared.get(key)
    if got is None:
        got = shared[key] = _consensus(votes)
    return got


def _consensus(votes: list[str]) -> ItemConsensus:
    label, confidence = majority(votes)
    return ItemConsensus(label, confidence, len(votes), _agreement(votes))


def _aggregated(project: Project, method: str) -> dict[int, ItemConsensus]:
    """Wawa or Dawid-Skene: the label of highest posterior, and that posterior.

    Dawid-Skene is crowd-kit's (through :func:`labeler.quality.raters.dawid_skene`);
    Wawa is written out (crowd-kit's Wawa fails under scikit-learn 1.6+'s tags):
    each rater weighs their agreement with the majority vote.
    """
    import numpy as np

    from labeler.quality.raters import dawid_skene

    names = project.label_names
    code = {name: k for k, name in enumerate(names)}
    rows = [
        r
        for r in db.session.connection().execute(
            select(Annotation.item_id, Annotation.rater_id, Annotation.label).where(
                Annotation.project_id == project.id,
                Annotation.is_current,
                Annotation.kind == AnnotationKind.LABEL.value,
            )
        )
        if r[2] in code
    ]
    if not rows:
        return {}
    item_ids, item = np.unique(
        np.fromiter((r[0] for r in rows), np.int64, len(rows)), return_inverse=True
    )
    _, rater = np.unique(
        np.fromiter((r[1] for r in rows), np.int64, len(rows)), return_inverse=True
    )
    label = np.fromiter((code[r[2]] for r in rows), np.int64, len(rows))
    n_items, n_raters, k = len(item_ids), int(rater.max()) + 1, len(names)
    counts = np.zeros((n_items, k))
    np.add.at(counts, (item, label), 1)
    if method == "dawid-skene":
        proba = dawid_skene(item, rater, label, n_items, n_raters, k).proba
    else:
        mv = counts.argmax(axis=1)
        hits = np.bincount(rater, weights=(label == mv[item]), minlength=n_raters)
        weight = hits / np.maximum(np.bincount(rater, minlength=n_raters), 1)
        proba = np.zeros((n_items, k))
        np.add.at(proba, (item, label), weight[rater])
        proba /= np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)
    best = proba.argmax(axis=1)
    top = proba[np.arange(n_items), best]
    tie = (np.isclose(proba, top[:, None])).sum(axis=1) > 1
    total = counts.sum(axis=1)
    agree = counts.max(axis=1) / np.maximum(total, 1)
    return {
        int(item_ids[i]): ItemConsensus(
            None if tie[i] else names[int(best[i])],
            None if tie[i] else float(top[i]),
            int(total[i]),
            float(agree[i]) if total[i] >= 2 else None,
        )
        for i in range(n_items)
    }
