"""Active-learning rounds: retrain on the labels so far and re-rank the queue.

A round is requested (automatically every ``project.retrain_every`` labels, or
on demand), runs on a worker, and writes a priority for every item in ONE
transaction, so raters never see a half-written queue (readers keep the old
priorities until the commit; ``next`` waits for the locks rather than answer 204).
At most one round per project is in flight: a partial unique index makes later
triggers coalesce into the queued or running one.
"""

from __future__ import annotations

import pickle
import time
import traceback
from datetime import timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Project, TrainingRound
from labeler.models.rounds import IN_FLIGHT
from labeler.models.types import utcnow
from labeler.quality.consensus import majority
from labeler.services import artifacts, jobs, vectors
from labeler.services.enqueue import RETRAIN_AND_RANK
from labeler.services.enqueue import enqueue as enqueue_task
from labeler.services.errors import NotFound
from labeler.services.weak import results as weak_results

# Rows labeled already (or by everyone) sink to the bottom of the queue.
BOTTOM = -1e12
STATE_KIND = "al-state"


def in_flight(project: Project) -> TrainingRound | None:
    """The round queued or running for ``project``; one that has gone stale is failed first.

    A round whose worker died and whose message was lost would otherwise block
    every later trigger for good.
    """
    current = db.session.scalar(
        select(TrainingRound).where(
            TrainingRound.project_id == project.id, TrainingRound.status.in_(IN_FLIGHT)
        )
    )
    if current is None:
        return None
    stale_after = timedelta(seconds=current_app.config["LABELER_ROUND_STALE_SECONDS"])
    if utcnow() - (current.started_at or current.created_at) > stale_after:
        current.status = "failed"
        current.error = f"stale: not finished within {stale_after} (worker lost?)"
        current.finished_at = utcnow()
        db.session.commit()
        return None
    return current


def request_round(
    project: Project, trigger: str = "manual", *, enqueue: bool = True
) -> TrainingRound:
    """Queue a round, or return the one already queued or running (coalesced)."""
    current = in_flight(project)
    if current is not None:
        return current
    last_seen = db.session.scalar(
        select(func.max(Annotation.id)).where(Annotation.project_id == project.id)
    )
    new = TrainingRound(
        project_id=project.id,
        trigger=trigger,
        strategy=project.strategy,
        max_annotation_id=int(last_seen or 0),
    )
    db.session.add(new)
    try:
        db.session.commit()
    except IntegrityError:
        # Another process queued one between our check and insert.
        db.session.rollback()
        current = in_flight(project)
        if current is None:  # pragma: no cover - it finished in between
            raise
        return current
    if enqueue:
        enqueue_task(RETRAIN_AND_RANK, new.id)
    return new


def labels_since_last_round(project: Project, cap: int) -> int:
    """New label annotations since the newest round, counted up to ``cap`` (cheap)."""
    since = db.session.scalar(
        select(func.max(TrainingRound.max_annotation_id)).where(
            TrainingRound.project_id == project.id
        )
    )
    recent = (
        select(Annotation.id)
        .where(
            Annotation.project_id == project.id,
            Annotation.id > int(since or 0),
            Annotation.kind == AnnotationKind.LABEL.value,
        )
        .limit(cap)
        .subquery()
    )
    return int(db.session.scalar(select(func.count()).select_from(recent)) or 0)


def maybe_trigger(project: Project) -> TrainingRound | None:
    """After a label: start a round when ``retrain_every`` new labels arrived."""
    every = project.retrain_every
    if every <= 0 or in_flight(project) is not None:
        return None
    if labels_since_last_round(project, every) < every:
        return None
    return request_round(project, "auto")


def _consensus(project: Project, item_ids: list[int]) -> dict[int, str]:
    """Majority of current labels per item (ties left out)."""
    votes: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(Annotation.item_id, Annotation.label).where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
        )
    )
    for item_id, label in rows:
        votes.setdefault(item_id, []).append(label)
    out = {}
    for item_id, labels in votes.items():
        label, _share = majority(labels)
        if label is not None:
            out[item_id] = label
    return out


def _weak_training(
    project: Project, ids: list[int], y: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """With ``project.train_on_weak``: human labels plus confident weak ones, and weights.

    (None, None, 0) when the switch is off: the round trains on human labels alone.
    """
    if not project.train_on_weak:
        return None, None, 0
    from labeler.learning.training import with_weak_labels

    found = weak_results.confident_labels(project, project.weak_min_confidence)
    weak_y = np.full(len(ids), -1, dtype=np.int64)
    conf = np.zeros(len(ids), dtype=np.float64)
    for k, item_id in enumerate(ids):
        hit = found.get(item_id)
        if hit is not None:
            weak_y[k], conf[k] = hit
    return with_weak_labels(y, weak_y, conf, project.weak_min_confidence)


def _load_state(project: Project) -> Any:
    blob = artifacts.latest(project.id, STATE_KIND, project.strategy)
    return pickle.loads(blob) if blob else None  # written by our own workers only


def execute_round(round_id: int) -> TrainingRound:
    """Run one round (idempotent: a redelivered round simply runs again)."""
    from labeler.learning.round import run_round

    rnd = db.session.get_one(TrainingRound, round_id)
    if rnd is None:
        raise NotFound(f"no round {round_id}")
    if rnd.status in ("done", "failed"):
        return rnd
    rnd.status, rnd.started_at, rnd.attempts = "running", utcnow(), rnd.attempts + 1
    db.session.commit()
    project = db.session.get(Project, rnd.project_id)
    assert project is not None
    start = time.perf_counter()
    try:
        rows = db.session.execute(
            select(Item.id, Item.data, Item.n_done)
            .where(Item.project_id == project.id)
            .order_by(Item.id)
        ).all()
        ids = [r.id for r in rows]
        consensus = _consensus(project, ids)
        classes = project.label_names
        index = {name: k for k, name in enumerate(classes)}
        y = np.array([index.get(consensus.get(i, ""), -1) for i in ids], dtype=np.int64)
        train_y, weight, n_weak = _weak_training(project, ids, y)
        # End the read transaction: on SQLite it holds the write lock, and training takes a while.
        db.session.commit()
        X, features = _features(project, [r.data for r in rows], ids)
        state = _load_state(project) if project.strategy == "region" else None
        result = run_round(
            X,
            y,
            min(max(project.retrain_every, 10), len(ids)),
            project.strategy,
            random_state=rnd.id,
            classes=list(range(len(classes))),
            state=state,
            ids=np.asarray(ids),
            train_y=train_y,
            sample_weight=weight,
        )
        scores = np.where(np.isfinite(result.scores), result.scores, BOTTOM)
        # Items everyone has answered are not served anyway; keep them at the bottom too.
        done = np.array([r.n_done >= project.overlap for r in rows])
        scores[done] = BOTTOM
        _write_priorities(ids, scores)
        if result.info.get("state") is not None:
            artifacts.put(
                project.id, STATE_KIND, project.strategy, pickle.dumps(result.info["state"])
            )
        rnd = db.session.get_one(TrainingRound, round_id)
        m = result.metrics
        rnd.status = "done"
        rnd.n_labels = m["n_labels"]
        rnd.n_ranked = len(ids)
        rnd.n_weak_labels = n_weak if project.train_on_weak else None
        rnd.cv_accuracy = m.get("accuracy")
        rnd.cv_macro_f1 = m.get("macro_f1")
        rnd.strategy_used = m.get("strategy_used")
        rnd.cold_start = bool(m.get("cold_start"))
        info = {k: v for k, v in {**result.info, **m}.items() if k != "state"}
        rnd.info = _jsonable({**info, "features": features})
    except Exception:
        db.session.rollback()
        rnd = db.session.get_one(TrainingRound, round_id)
        rnd.status = "failed"
        rnd.error = traceback.format_exc(limit=4)
    rnd.duration_s = round(time.perf_counter() - start, 3)
    rnd.finished_at = utcnow()
    db.session.commit()
    return rnd


def _features(project: Project, records: list[dict[str, Any]], ids: list[int]) -> tuple[Any, str]:
    """The round's feature matrix and a line saying which features it is.

    Text projects that use embeddings read the stored vectors (no model call);
    while some are missing the round uses TF-IDF, says so, and makes sure an
    embed job is on its way.
    """
    from labeler.learning.features import featurize

    model = vectors.model_for(project)
    if model is not None and ids:
        X = vectors.load_matrix(project, ids, model)
        ready = vectors.count_ready(project.id, model) if X is None else len(ids)
        db.session.commit()
        if X is not None:
            return X, f"embeddings ({model}, stored)"
        jobs.request_embedding(project)
        X, _ = featurize("text", records, text_field=project.text_field, method="tfidf")
        return X, f"tfidf (embeddings not ready: {ready}/{len(ids)} items)"
    options = (
        {"method": current_app.config["LABELER_TEXT_FEATURES"]} if project.kind == "text" else {}
    )
    X, featurizer = featurize(project.kind, records, text_field=project.text_field, **options)
    describe = getattr(featurizer, "describe", None)
    return X, str(describe()["kind"]) if callable(describe) else str(project.kind)


def _write_priorities(ids: list[int], scores: np.ndarray) -> None:
    """All priorities in one transaction: readers switch from the old ranking to the new at commit."""
    stmt = (
        update(Item.__table__)
        .where(Item.__table__.c.id == bindparam("iid"))
        .values(priority=bindparam("p"))
    )
    params = [{"iid": i, "p": float(s)} for i, s in zip(ids, scores, strict=True)]
    for start in range(0, len(params), 5000):
        db.session.execute(stmt, params[start : start + 5000])
    db.session.flush()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist()) if value.size <= 200 else f"<array {value.shape}>"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def recent_rounds(project: Project, limit: int = 20) -> list[TrainingRound]:
    return list(
        db.session.scalars(
            select(TrainingRound)
            .where(TrainingRound.project_id == project.id)
            .order_by(TrainingRound.id.desc())
            .limit(limit)
        )
    )
