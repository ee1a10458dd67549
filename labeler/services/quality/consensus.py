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
    if method != "mv":
        raise NotImplementedError(f"consensus {method!r} comes with the adjudication branch")
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
