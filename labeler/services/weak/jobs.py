"""Weak supervision as background jobs: apply, fit (apply what is stale, then fit), propagate.

Each is a :class:`Job` (kinds ``weak_apply``, ``weak_fit``, ``propagate``) whose
progress the project page follows like an import's. A request while a job of
the same kind is queued or running for the project returns that job instead
(a job not updated within the round staleness limit is taken for lost).
Jobs are idempotent: apply resumes from the watermarks, a fit or propagation
simply runs again.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Job, Project, User
from labeler.models.types import utcnow
from labeler.services.enqueue import PROPAGATE, WEAK_APPLY, WEAK_FIT, enqueue
from labeler.services.errors import NotFound, ServiceError
from labeler.services.jobs import set_progress
from labeler.services.weak import apply, model, propagate

TASKS = {"weak_apply": WEAK_APPLY, "weak_fit": WEAK_FIT, "propagate": PROPAGATE}


def request_job(
    project: Project, kind: str, params: dict[str, Any] | None = None, user: User | None = None
) -> Job:
    """Queue a weak-supervision job, or return the one of that kind already on its way."""
    stale = timedelta(seconds=current_app.config["LABELER_ROUND_STALE_SECONDS"])
    current = db.session.scalar(
        select(Job)
        .where(
            Job.project_id == project.id,
            Job.kind == kind,
            Job.status.in_(("queued", "running")),
            Job.updated_at > utcnow() - stale,
        )
        .order_by(Job.id.desc())
        .limit(1)
    )
    if current is not None:
        return current
    job = Job(
        project_id=project.id,
        kind=kind,
        status="queued",
        params=params or {},
        created_by_id=user.id if user else None,
    )
    db.session.add(job)
    db.session.commit()
    enqueue(TASKS[kind], job.id)
    return job


def fit_project(
    project: Project,
    method: str = "label_model",
    *,
    user: User | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Apply what is stale, then fit: what ``labeler weak fit`` and the fit job do."""
    applied = apply.apply_stale(project, progress=progress)
    run = model.fit(project, method, user=user)
    return {"apply": applied.as_dict(), "run": run.as_dict()}


def run_job(job_id: int) -> None:
    """Run a weak-supervision job (the task body)."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status == "done":
        return
    job.status, job.error = "running", None
    db.session.commit()
    project = db.session.get_one(Project, job.project_id)
    user = db.session.get(User, job.created_by_id) if job.created_by_id else None
    params = dict(job.params or {})

    def progress(done: int, total: int) -> None:
        set_progress(job_id, done, total)

    try:
        if job.kind == "weak_apply":
            result: dict[str, Any] = apply.apply_stale(project, progress=progress).as_dict()
        elif job.kind == "weak_fit":
            result = fit_project(
                project, params.get("method", "label_model"), user=user, progress=progress
            )
        elif job.kind == "propagate":
            run = propagate.run_propagation(
                project,
                k=int(params.get("k", 10)),
                alpha=float(params.get("alpha", 0.2)),
                user=user,
                progress=progress,
            )
            result = {"run": run.as_dict()}
        else:
            raise NotFound(f"not a weak-supervision job: {job.kind}")
    except ServiceError as exc:
        _fail(job_id, exc.message, {"details": exc.details})
        return
    except Exception:
        _fail(job_id, traceback.format_exc(limit=3), None)
        raise
    job = db.session.get_one(Job, job_id)
    run_status = (result.get("run") or {}).get("status")
    job.status = "failed" if run_status == "failed" else "done"
    job.error = (result.get("run") or {}).get("error")
    job.result = result
    db.session.commit()


def _fail(job_id: int, message: str, result: Any) -> None:
    db.session.rollback()
    job = db.session.get_one(Job, job_id)
    job.status, job.error, job.result = "failed", message, result
    db.session.commit()
