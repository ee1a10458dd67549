"""LF statistics: coverage, overlaps, conflicts and empirical accuracy against the
human consensus so far (the same majority rule as training and export; ties and
unlabeled items are not scored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, GoldLabel, Project, WeakRun
from labeler.quality.consensus import majority
from labeler.services.weak import lfs, matrix


def human_consensus(project: Project) -> dict[int, tuple[int, float]]:
    """item id -> (label index, share of the votes): the majority of current labels, ties left out."""
    index = {name: k for k, name in enumerate(project.label_names)}
    votes: dict[int, list[str]] = {}
    for item_id, label in db.session.execute(
        select(Annotation.item_id, Annotation.label).where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
        )
    ):
        votes.setdefault(item_id, []).append(label)
    out = {}
    for item_id, labels in votes.items():
        label, share = majority(labels)
        if label in index and share is not None:
            out[item_id] = (index[label], share)
    return out


def gold(project: Project) -> dict[int, int]:
    """item id -> gold label index (evaluation only: never shown to raters)."""
    index = {name: k for k, name in enumerate(project.label_names)}
    rows = db.session.execute(
        select(GoldLabel.item_id, GoldLabel.label).where(GoldLabel.project_id == project.id)
    )
    return {i: index[lab] for i, lab in rows if lab in index}


def as_y(item_ids: np.ndarray, labels: dict[int, Any]) -> np.ndarray:
    """``labels`` (item id -> index or (index, share)) as a vector over ``item_ids``; -1 elsewhere."""
    y = np.full(len(item_ids), -1, dtype=np.int64)
    for k, i in enumerate(item_ids.tolist()):
        got = labels.get(i)
        if got is not None:
            y[k] = got[0] if isinstance(got, tuple) else got
    return y


def latest_run(project: Project, kind: str) -> WeakRun | None:
    return db.session.scalar(
        select(WeakRun)
        .where(WeakRun.project_id == project.id, WeakRun.kind == kind, WeakRun.status == "done")
        .order_by(WeakRun.id.desc())
        .limit(1)
    )


def lf_stats(project: Project) -> dict[str, Any]:
    """``lf_summary`` of the used LFs against the human consensus, with each LF's state.

    Weights come from the newest label-model fit when it used these very versions.
    """
    from labeler.weak.analysis import lf_summary

    used = lfs.used(project)
    ids, L = matrix.label_matrix(project, used)
    y = as_y(ids, human_consensus(project))
    run = latest_run(project, "label_model")
    weights = None
    if run is not None and list(run.lf_ids or []) == [lf.id for lf in used]:
        w = (run.metrics or {}).get("weights")
        weights = np.asarray(w, dtype=float) if w is not None else None
    summary = lf_summary(L, y, weights=weights, names=[lf.name for lf in used])
    st = lfs.states([lf.id for lf in used])
    for row, lf in zip(summary["lfs"], used, strict=True):
        row.update(lfs.lf_dict(lf, st.get(lf.id)))
        row["polarity"] = [project.label_names[int(k)] for k in row.get("polarity", [])]
    summary["n_human_labels"] = int((y >= 0).sum())
    summary["model_run"] = run.id if run else None
    return _jsonable(summary)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
