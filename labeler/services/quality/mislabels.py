"""Likely mislabeled items of a project, flagged into the adjudication queue.

The items with a human consensus label are featurized as the project's rounds do
(stored embeddings, else TF-IDF or the tabular/image featurizer), the project's
model gives held-out probabilities (cross-validated), and confident learning
(:mod:`labeler.quality.mislabels`, cleanlab) picks the labels that are probably
wrong. Items an sme or engineer has adjudicated are settled: their labels train
the model, they are never flagged. With ``flag`` the suspects join the
adjudication queue with the reason (given label, the model's label, its quality
score), most suspect first.

``labeler mislabels PROJECT`` runs it in the calling process; the API and the
pages hand it to a worker as a ``mislabels`` job (it trains k models).
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Job, Project, User
from labeler.services.enqueue import FIND_MISLABELS, enqueue
from labeler.services.errors import NotFound
from labeler.services.jobs import set_progress
from labeler.services.quality.adjudication import flag_items
from labeler.services.quality.consensus import project_consensus
from labeler.services.weak.results import adjudicated_for

JOB_KIND = "mislabels"
TOP = 200


def find(
    project: Project,
    *,
    filter_by: str | None = None,
    cv: int = 5,
    random_state: int = 0,
    flag: bool = False,
    top: int = TOP,
) -> dict[str, Any]:
    """The likely mislabeled items of ``project`` (and, with ``flag``, flag them)."""
    from labeler.learning.training import make_model
    from labeler.quality.mislabels import DEFAULT_FILTER, find_mislabels, out_of_sample_proba
    from labeler.services.training import _features

    filter_by = filter_by or DEFAULT_FILTER
    consensus = {i: c.label for i, c in project_consensus(project).items() if c.label is not None}
    decided: dict[int, tuple[str, float]] = {}
    keys = sorted(consensus)
    for lo in range(0, len(keys), 5000):  # bounded IN lists
        decided.update(adjudicated_for(project, keys[lo : lo + 5000]))
    labels = {**consensus, **{i: lab for i, (lab, _) in decided.items()}}
    out: dict[str, Any] = {
        "n_checked": 0,
        "n_flagged": 0,
        "filter_by": filter_by,
        "model": "logreg",
        "features": None,
        "reason": None,
        "items": [],
    }
    ids = sorted(labels)
    # The whole project in one pass (a list of ids this long would overflow SQLite's
    # parameter limit); only the labeled items are kept.
    wanted = set(ids)
    rows: dict[int, Any] = {}
    external: dict[int, str] = {}
    query = select(Item.id, Item.external_id, Item.data).where(Item.project_id == project.id)
    for item_id, ext, data in db.session.execute(query):
        if item_id in wanted:
            rows[item_id], external[item_id] = data, ext
    ids = [i for i in ids if i in rows]
    classes = sorted({labels[i] for i in ids})
    index = {name: k for k, name in enumerate(classes)}
    y = np.asarray([index[labels[i]] for i in ids], dtype=np.int64)
    db.session.commit()
    proba = None
    if len(classes) >= 2:
        X, out["features"] = _features(project, [rows[i] for i in ids], ids)
        proba = out_of_sample_proba(
            make_model("logreg", random_state=random_state), X, y, cv=cv, random_state=random_state
        )
    if proba is None:
        out["reason"] = "needs two labeled classes with at least 2 items each"
        return out
    found = find_mislabels(y, proba, filter_by=filter_by)
    suspects = [
        (ids[r], classes[int(s)], float(q))
        for r, s, q in zip(found.index, found.suggested, found.quality, strict=True)
        if ids[r] not in decided
    ]
    out["n_checked"], out["n_flagged"] = found.n_checked, len(suspects)
    out["items"] = [
        {"id": external[i], "label": labels[i], "suggested": s, "quality": round(q, 4)}
        for i, s, q in suspects[:top]
    ]
    if flag and suspects:
        flag_items(
            project,
            {
                i: f"likely mislabeled: {labels[i]!r}, the model says {s!r} (quality {q:.2f})"
                for i, s, q in suspects
            },
            scores={i: 1.0 - q for i, _, q in suspects},
        )
        db.session.commit()
    return out


def request_job(project: Project, user: User | None = None) -> Job:
    """Queue a worker job that finds and flags the project's likely mislabels."""
    job = Job(
        project_id=project.id,
        kind=JOB_KIND,
        status="queued",
        params={},
        created_by_id=user.id if user else None,
    )
    db.session.add(job)
    db.session.commit()
    enqueue(FIND_MISLABELS, job.id)
    return job


def run_job(job_id: int) -> None:
    """The task body: find and flag, the result (without the item list) on the job."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status == "done":
        return
    job.status = "running"
    db.session.commit()
    project = db.session.get_one(Project, job.project_id)
    try:
        result = find(project, flag=True)
    except Exception:
        db.session.rollback()
        job = db.session.get_one(Job, job_id)
        job.status, job.error = "failed", traceback.format_exc(limit=3)
        db.session.commit()
        raise
    set_progress(job_id, result["n_checked"], result["n_checked"])
    job = db.session.get_one(Job, job_id)
    job.status = "done"
    job.result = {k: v for k, v in result.items() if k != "items"}
    db.session.commit()
