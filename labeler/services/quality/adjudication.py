"""Adjudication: the queue of disputed and flagged items, and the expert's decisions.

An item is disputed when it has two answers or more and the project's consensus
(:func:`labeler.services.quality.consensus.consensus_table`, the same rule the
export uses) ties, or is less confident than the project's
``adjudication_threshold``. Flagged items (:func:`flag_items`, e.g. confident
learning's likely mislabels) join whatever their answers say. An item leaves the
queue once decided after its last answer; a newer answer brings a still-disputed
item back. Most disputed first: the entropy of the answers, then the flag's score.

A decision (:func:`decide`) is a new row: history is kept and the newest is the
item's final label in the export (``labeler.services.weak.results.adjudicated_for``).
Smes see raters as "rater 1..k" per item; engineers and admins see their names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, Item, Project, ReviewFlag, Role, User
from labeler.models.types import utcnow
from labeler.quality.agreement import item_entropy
from labeler.services import assignment
from labeler.services.errors import BadInput, NotFound
from labeler.services.inputs import check
from labeler.services.quality.consensus import consensus_table
from labeler.services.quality.inputs import AdjudicationQuery, NewDecision, NewFlag
from labeler.services.weak import results

__all__ = [
    "Dispute",
    "decide",
    "disputes",
    "flag",
    "flag_items",
    "queue",
    "queue_size",
    "unflag",
]

FLAG_REASON_MAX = 2000


@dataclass(frozen=True)
class Dispute:
    """Why one item is in the queue, and how disputed it is."""

    item_id: int
    reasons: tuple[str, ...]  # of tie, low_confidence, flagged; the first is the main one
    entropy: float  # of the item's label answers (bits)
    n_answers: int  # label answers
    label: str | None  # the consensus label (None: tie or no answers)
    confidence: float | None
    flag_reason: str | None
    flag_score: float | None


def flag_items(
    project: Project,
    flags: Mapping[int, str],
    scores: Mapping[int, float] | None = None,
) -> int:
    """Flag items (database ids -> why) for adjudication; a flag replaces the item's earlier one.

    ``scores`` (optional, higher first) orders flagged items of equal dispute.
    Returns the number of flags stored. All or nothing: an id that is not an item of
    ``project`` is refused before anything is stored.
    """
    if not flags:
        return 0
    ids = [int(i) for i in flags]
    found = set(
        db.session.scalars(select(Item.id).where(Item.project_id == project.id, Item.id.in_(ids)))
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no item {missing[0]} in project {project.name!r}", {"item": missing[0]})
    now = utcnow()
    rows = [
        {
            "project_id": project.id,
            "item_id": i,
            "reason": str(flags[i])[:FLAG_REASON_MAX],
            "score": None if scores is None or scores.get(i) is None else float(scores[i]),
            "created_at": now,
        }
        for i in ids
    ]
    db.session.execute(delete(ReviewFlag).where(ReviewFlag.item_id.in_(ids)))
    db.session.execute(insert(ReviewFlag), rows)
    db.session.commit()
    return len(rows)


def flag(project: Project, item: str, reason: str) -> dict[str, Any]:
    """Flag one item (its external id) for adjudication by hand, with why.

    ``queued`` says whether it is in the queue now: an item decided after its last
    answer stays settled (decide it again to change its label).
    """
    body = check(NewFlag, {"reason": reason})
    found = assignment.find_item(project, item)
    flag_items(project, {found.id: body.reason})
    return {
        "id": found.external_id,
        "reason": body.reason,
        "queued": not _settled(project, {found.id}),
    }


def unflag(project: Project, item: str) -> None:
    """Take an item's flag back (404 when it has none); its other reasons stay."""
    found = assignment.find_item(project, item)
    gone = db.session.execute(
        delete(ReviewFlag).where(
            ReviewFlag.project_id == project.id, ReviewFlag.item_id == found.id
        )
    )
    if not getattr(gone, "rowcount", 0):
        db.session.rollback()
        raise NotFound(f"item {found.external_id!r} is not flagged", {"item": found.external_id})
    db.session.commit()


def _settled(project: Project, item_ids: set[int]) -> set[int]:
    """Those of ``item_ids`` decided at or after their last current answer."""
    decided = {
        d.item_id: d.decided_at
        for d in results.current_decisions(project.id)
        if d.item_id in item_ids
    }
    if not decided:
        return set()
    last: dict[int, datetime] = {
        item_id: at
        for item_id, at in db.session.execute(
            select(Annotation.item_id, func.max(Annotation.created_at))
            .where(Annotation.item_id.in_(list(decided)), Annotation.is_current)
            .group_by(Annotation.item_id)
        )
    }
    # max() keeps the column's type, so both sides are aware UTC datetimes.
    return {i for i, at in decided.items() if last.get(i) is None or at >= last[i]}


def disputes(project: Project) -> list[Dispute]:
    """The project's queue, most disputed first (entropy, then flag score, then item id)."""
    table = consensus_table(project)
    n_answers = table.counts.sum(axis=1)
    entropy = item_entropy(table.counts)
    threshold = float(project.adjudication_threshold)
    pairs = n_answers >= 2
    tie = pairs & (table.label < 0)
    with np.errstate(invalid="ignore"):
        low = pairs & (table.label >= 0) & (np.nan_to_num(table.confidence) < threshold)
    flags = {
        f.item_id: f
        for f in db.session.scalars(select(ReviewFlag).where(ReviewFlag.project_id == project.id))
    }
    position = {int(i): p for p, i in enumerate(table.item_ids.tolist())}
    candidates = {int(table.item_ids[p]) for p in np.flatnonzero(tie | low)} | set(flags)
    candidates -= _settled(project, candidates)
    out = []
    for item_id in candidates:
        p = position.get(item_id)
        reasons: list[str] = []
        if p is not None and tie[p]:
            reasons.append("tie")
        if p is not None and low[p]:
            reasons.append("low_confidence")
        flag = flags.get(item_id)
        if flag is not None:
            reasons.append("flagged")
        code = int(table.label[p]) if p is not None else -1
        conf = float(table.confidence[p]) if p is not None and code >= 0 else None
        out.append(
            Dispute(
                item_id=item_id,
                reasons=tuple(reasons),
                entropy=float(entropy[p]) if p is not None else 0.0,
                n_answers=int(n_answers[p]) if p is not None else 0,
                label=table.labels[code] if code >= 0 else None,
                confidence=conf,
                flag_reason=flag.reason if flag is not None else None,
                flag_score=flag.score if flag is not None else None,
            )
        )
    out.sort(
        key=lambda d: (
            -d.entropy,
            d.flag_score is None,
            -(d.flag_score or 0.0),
            d.item_id,
        )
    )
    return out


def queue_size(project: Project) -> int:
    """How many items wait for adjudication."""
    return len(disputes(project))


def _answers(item_ids: list[int], named: bool) -> dict[int, list[dict[str, Any]]]:
    """Every current answer of ``item_ids``, oldest first; raters by name or as "rater n"."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in item_ids}
    for item_id, name, kind, label, created_at in db.session.execute(
        select(
            Annotation.item_id, User.name, Annotation.kind, Annotation.label, Annotation.created_at
        )
        .join(User, User.id == Annotation.rater_id)
        .where(Annotation.item_id.in_(item_ids), Annotation.is_current)
        .order_by(Annotation.item_id, Annotation.id)
    ):
        rows = out[item_id]
        rows.append(
            {
                "rater": name if named else f"rater {len(rows) + 1}",
                "kind": kind,
                "label": label,
                "created_at": created_at.isoformat(),
            }
        )
    return out


def _vote(got: tuple[str, float] | None) -> dict[str, Any] | None:
    return {"label": got[0], "confidence": got[1]} if got is not None else None


def queue(project: Project, user: User, query: AdjudicationQuery | None = None) -> dict[str, Any]:
    """One page of the queue with everything an adjudicator needs to decide."""
    page = check(AdjudicationQuery, query if query is not None else {})
    found = disputes(project)
    chosen = found[page.offset : page.offset + page.limit]
    ids = [d.item_id for d in chosen]
    items = {
        row.id: row
        for row in db.session.execute(
            select(Item.id, Item.external_id, Item.data).where(Item.id.in_(ids))
        )
    }
    answers = _answers(ids, named=user.can(Role.ENGINEER))
    weak = results.labels_for(project, results.current_runs(project.id), ids)
    earlier = {d.item_id: d for d in results.current_decisions(project.id, ids)}
    names = {
        uid: name
        for uid, name in db.session.execute(
            select(User.id, User.name).where(
                User.id.in_([d.decided_by_id for d in earlier.values() if d.decided_by_id])
            )
        )
    }
    entries = []
    for d in chosen:
        item = items[d.item_id]
        before = earlier.get(d.item_id)
        entries.append(
            {
                "id": item.external_id,
                "data": item.data,
                "reason": d.reasons[0],
                "reasons": list(d.reasons),
                "entropy": d.entropy,
                "n_answers": d.n_answers,
                "consensus": {"label": d.label, "confidence": d.confidence},
                "flag": {"reason": d.flag_reason, "score": d.flag_score}
                if "flagged" in d.reasons
                else None,
                "answers": answers.get(d.item_id, []),
                "label_model": _vote(weak.get("label_model", {}).get(d.item_id)),
                "propagation": _vote(weak.get("propagation", {}).get(d.item_id)),
                "previous_decision": _decision_dict(before, item.external_id, names)
                if before is not None
                else None,
            }
        )
    return {
        "method": project.consensus_method,
        "threshold": project.adjudication_threshold,
        "total": len(found),
        "limit": page.limit,
        "offset": page.offset,
        "items": entries,
    }


def _decision_dict(d: Adjudication, external_id: str, names: Mapping[int, str]) -> dict[str, Any]:
    return {
        "id": external_id,
        "label": d.label,
        "reason": d.reason,
        "note": d.note,
        "decided_by": names.get(d.decided_by_id) if d.decided_by_id else None,
        "decided_at": d.decided_at.isoformat(),
    }


def _reason(project: Project, item_id: int) -> str:
    """Why the item is in the queue now (its main reason), or ``manual`` when it is not."""
    for d in disputes(project):
        if d.item_id == item_id:
            return d.reasons[0]
    return "manual"


def decide(
    project: Project, item: Item | str, label: str, user: User, note: str = ""
) -> dict[str, Any]:
    """Store ``user``'s final label for ``item`` (an Item or its external id); a new row each time."""
    body = check(NewDecision, {"label": label, "note": note})
    if body.label not in project.label_names:
        raise BadInput(f"label: {body.label!r} is not a label of this project", {"field": "label"})
    if not isinstance(item, Item):
        item = assignment.find_item(project, item)
    elif item.project_id != project.id:
        raise NotFound(f"no item {item.external_id!r} in project {project.name!r}")
    row = Adjudication(
        project_id=project.id,
        item_id=item.id,
        label=body.label,
        decided_by_id=user.id,
        decided_at=utcnow(),
        reason=_reason(project, item.id),
        note=body.note,
    )
    db.session.add(row)
    db.session.commit()
    return _decision_dict(row, item.external_id, {user.id: user.name})
