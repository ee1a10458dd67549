"""Label propagation: spread the labels we have over the item graph to the items without one.

Seeds are the human consensus where there is one, else the newest label
model's label (covered, no tie). Features are the stored sentence embeddings
when every item has one, else TF-IDF (text) or the project kind's featurizer,
as active-learning rounds do; the run records which. Results are a
:class:`WeakRun` of kind ``propagation`` with one row per item (label -1 and
confidence 0 where the graph does not reach).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Project, User, WeakResult, WeakRun
from labeler.services import vectors
from labeler.services.errors import Conflict
from labeler.services.weak import columns, model, stats, write


def features(project: Project, ids: list[int]) -> tuple[Any, str]:
    """The feature matrix of ``ids`` and a line saying which features it is."""
    from labeler.learning.features import featurize

    emb = vectors.model_for(project)
    if emb is not None and ids:
        X = vectors.load_matrix(project, ids, emb)
        if X is not None:
            return X, f"embeddings ({emb}, stored)"
    records: list[dict[str, Any]] = []
    for lo in range(0, len(ids), 5000):
        part = ids[lo : lo + 5000]
        found: dict[int, Any] = {
            r.id: r.data
            for r in db.session.execute(select(Item.id, Item.data).where(Item.id.in_(part)))
        }
        records.extend(found.get(i) or {} for i in part)
    db.session.commit()
    if project.kind == "text":
        method = current_app.config["LABELER_TEXT_FEATURES"]
        method = method if method in ("tfidf", "hashing") else "tfidf"
        X, _ = featurize("text", records, text_field=project.text_field, method=method)
        return X, method if emb is None else f"{method} (embeddings not ready)"
    X, _ = featurize(project.kind, records, text_field=project.text_field)
    return X, str(project.kind)


def model_labels(project: Project, ids: np.ndarray) -> np.ndarray:
    """The newest label-model run's labels over ``ids`` (-1 where none)."""
    out = np.full(len(ids), -1, dtype=np.int64)
    run = stats.latest_run(project, "label_model")
    if run is None or not len(ids):
        return out
    rows = db.session.execute(
        select(WeakResult.item_id, WeakResult.label).where(
            WeakResult.run_id == run.id, WeakResult.label >= 0
        )
    ).all()
    if rows:
        arr = np.asarray(rows, dtype=np.int64)
        pos = np.searchsorted(ids, arr[:, 0])
        ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == arr[:, 0])
        out[pos[ok]] = arr[ok, 1]
    return out


def run_propagation(
    project: Project,
    *,
    k: int = 10,
    alpha: float = 0.2,
    user: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WeakRun:
    """Propagate the seeds' labels to every item and store the result as a new run."""
    from labeler.weak.propagate import propagate

    id_list = columns.item_ids(project.id)
    ids = np.asarray(id_list, dtype=np.int64)
    human = stats.as_y(ids, stats.human_consensus(project))
    lm = model_labels(project, ids)
    seeds = np.where(human >= 0, human, lm)
    if not (seeds >= 0).any():
        raise Conflict(
            "nothing to propagate from: no human consensus and no label-model labels yet",
            {"reason": "no_seeds"},
        )
    lm_run = stats.latest_run(project, "label_model")
    run = WeakRun(
        project_id=project.id,
        kind="propagation",
        method="knn",
        status="running",
        lf_ids=list(lm_run.lf_ids or []) if lm_run else [],
        options={"k": k, "alpha": alpha, "label_model_run": lm_run.id if lm_run else None},
        created_by_id=user.id if user else None,
    )
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    start = time.perf_counter()
    try:
        gold_y = stats.as_y(ids, stats.gold(project))
        X, described = features(project, id_list)
        db.session.commit()  # end the read: on SQLite it holds the write lock
        labels, conf = propagate(
            X, seeds, len(project.labels), k=min(k, max(len(ids) - 1, 1)), alpha=alpha
        )
        labels = np.asarray(labels, dtype=np.int64)
        conf = np.asarray(conf, dtype=np.float64)
        write.write_results(run_id, ids, labels, conf, labels >= 0, None, progress)
        non_seed = seeds < 0
        metrics = {
            "n_items": len(ids),
            "n_seeds": int((seeds >= 0).sum()),
            "n_seeds_human": int((human >= 0).sum()),
            "n_labeled": int((labels >= 0).sum()),
            "n_filled": int(((labels >= 0) & non_seed).sum()),
            "features": described,
            "gold_unseeded": model._scores(
                np.where(non_seed, labels, -1), np.where(non_seed, gold_y, -1), labels >= 0
            ),
            "duration_s": round(time.perf_counter() - start, 3),
        }
    except Exception:
        return model.finish_run(project, run_id, None)
    return model.finish_run(project, run_id, metrics)
