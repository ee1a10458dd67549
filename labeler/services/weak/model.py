"""Fit the label model on the stored votes and store each item's probabilities.

A fit is a :class:`WeakRun` row (the LF versions in column order, the options,
the metrics) and one :class:`WeakResult` per item: the predicted label index
(-1 on a tie or an item no LF covers, ``covered`` false), its probability as the
confidence, and the class probabilities as float32. Results are written in
chunks under the new run while readers keep using the previous one; marking
the run ``done`` switches them over. Older runs beyond the newest few are
deleted.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import delete, select

from labeler.extensions import db
from labeler.models import LabelingFunction, Project, User, WeakResult, WeakRun
from labeler.models.types import utcnow
from labeler.services.errors import Conflict
from labeler.services.weak import lfs, matrix, stats, write

METHODS = ("label_model", "majority")
KEEP_RUNS = 3


def fittable(project: Project) -> list[LabelingFunction]:
    """Used LF versions whose votes are complete and error-free."""
    from labeler.services.weak.apply import stale

    pending = {lf.id for lf, _ in stale(project)}
    used = lfs.used(project)
    st = lfs.states([lf.id for lf in used])
    return [lf for lf in used if lf.id not in pending and not (lf.id in st and st[lf.id].error)]


def _scores(pred: np.ndarray, y: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    """Accuracy of ``pred`` where ``y`` is known: on covered items, and over all of them."""
    known = y >= 0
    scored = known & (pred >= 0)
    return {
        "n": int(known.sum()),
        "n_scored": int(scored.sum()),
        "accuracy": float((pred[scored] == y[scored]).mean()) if scored.any() else None,
        "accuracy_all": float((pred[known] == y[known]).mean()) if known.any() else None,
        "coverage": float(cov[known].mean()) if known.any() else None,
    }


def fit(
    project: Project,
    method: str = "label_model",
    *,
    user: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WeakRun:
    """Fit on the fittable LFs and store the results (a failed fit is a ``failed`` run)."""
    from labeler.weak.model import covered, fit_label_model, predict

    if method not in METHODS:
        raise Conflict(f"method must be one of {list(METHODS)}", {"field": "method"})
    used = fittable(project)
    if not used:
        raise Conflict(
            "no active labeling function with complete votes: add one, or apply first",
            {"reason": "no_lfs"},
        )
    run = WeakRun(
        project_id=project.id,
        kind="label_model",
        method=method,
        status="running",
        lf_ids=[lf.id for lf in used],
        options={"tie_policy": "abstain", "random_state": 0},
        created_by_id=user.id if user else None,
    )
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    start = time.perf_counter()
    try:
        ids, L = matrix.label_matrix(project, used)
        k = len(project.labels)
        human = stats.as_y(ids, stats.human_consensus(project))
        gold_y = stats.as_y(ids, stats.gold(project))
        db.session.commit()
        result = fit_label_model(L, k, method=method, random_state=0)  # type: ignore[arg-type]
        proba = np.asarray(result.proba, dtype=np.float32)
        pred = np.asarray(predict(proba), dtype=np.int64)
        cov = np.asarray(covered(L), dtype=bool)
        pred[~cov] = -1
        conf = proba.max(axis=1) if len(proba) else np.zeros(0, np.float32)
        write.write_results(run_id, ids, pred, conf, cov, proba, progress)
        metrics: dict[str, Any] = {
            "n_items": len(ids),
            "n_lfs": len(used),
            "lfs": [lf.name for lf in used],
            "n_covered": int(cov.sum()),
            "coverage": float(cov.mean()) if len(ids) else 0.0,
            "n_labeled": int((pred >= 0).sum()),
            "class_counts": {
                name: int((pred == j).sum()) for j, name in enumerate(project.label_names)
            },
            "gold": _scores(pred, gold_y, cov),
            "human": _scores(pred, human, cov),
            "weights": None if result.weights is None else np.asarray(result.weights).tolist(),
            "duration_s": round(time.perf_counter() - start, 3),
        }
    except Exception:
        return finish_run(project, run_id, None)
    return finish_run(project, run_id, metrics)


def finish_run(project: Project, run_id: int, metrics: dict[str, Any] | None) -> WeakRun:
    """End a label-model or propagation run: ``done`` with ``metrics``, or, called from
    an ``except`` block with None, ``failed`` with the traceback and no results kept."""
    if metrics is None:
        error = traceback.format_exc(limit=4)
        db.session.rollback()
        db.session.execute(delete(WeakResult).where(WeakResult.run_id == run_id))
        run = db.session.get_one(WeakRun, run_id)
        run.status, run.error = "failed", error
    else:
        run = db.session.get_one(WeakRun, run_id)
        run.metrics = stats._jsonable(metrics)
        run.status = "done"
    run.finished_at = utcnow()
    db.session.commit()
    prune(project, run.kind)
    return db.session.get_one(WeakRun, run_id)


def prune(project: Project, kind: str, keep: int = KEEP_RUNS) -> None:
    """Delete all but the newest ``keep`` finished runs of ``kind`` (and their results)."""
    old = list(
        db.session.scalars(
            select(WeakRun.id)
            .where(
                WeakRun.project_id == project.id,
                WeakRun.kind == kind,
                WeakRun.status.in_(("done", "failed")),
            )
            .order_by(WeakRun.id.desc())
            .offset(keep)
        )
    )
    if old:
        db.session.execute(delete(WeakResult).where(WeakResult.run_id.in_(old)))
        db.session.execute(delete(WeakRun).where(WeakRun.id.in_(old)))
        db.session.commit()


def run_dict(run: WeakRun) -> dict[str, Any]:
    return run.as_dict()
