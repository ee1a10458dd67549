"""Background jobs: create, enqueue, run, and report progress.

Imports and embedding run here: an import of a text project that uses
embeddings is followed by an ``embed`` job, so rounds find stored vectors.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import select, update

from labeler.extensions import db
from labeler.models import Job, Project, Role, User
from labeler.models.types import utcnow
from labeler.services import artifacts, importing, projects, vectors
from labeler.services.enqueue import EMBED_ITEMS, IMPORT_UPLOAD, enqueue
from labeler.services.errors import NotFound, ServiceError
from labeler.services.inputs import as_id


def enqueue_import(
    project: Project, stream: IO[bytes], filename: str, fmt: str, user: User | None
) -> Job:
    """Store the upload in the artifact store and hand the import to a worker."""
    importing.check_format(fmt)
    artifact = artifacts.put(project.id, "upload", filename, stream.read())
    job = Job(
        project_id=project.id,
        kind="import",
        status="queued",
        params={"artifact_id": artifact.id, "format": fmt, "filename": filename},
        created_by_id=user.id if user else None,
    )
    db.session.add(job)
    db.session.commit()
    enqueue(IMPORT_UPLOAD, job.id)
    return job


def set_progress(job_id: int, progress: int, total: int | None = None) -> None:
    """Progress goes through its own short transaction so pages can see it mid-import.

    On SQLite too: an import writes in short transactions (``importing.batch``)
    and reports progress between them, so this never waits on the import itself.
    """
    values: dict[str, Any] = {"progress": progress}
    if total is not None:
        values["total"] = total
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(**values))


def estimate_rows(content: bytes, fmt: str) -> int | None:
    """Rows in an upload, counted before the import for a determinate progress bar.

    Line formats only (one row per line; a CSV header is not a row); quoted
    newlines in a CSV make this an upper bound, so pages clamp to it. None
    when the format has no cheap count (a JSON document).

    >>> estimate_rows(b"a\\n1\\n2\\n", "csv"), estimate_rows(b'{"x":1}\\n\\n{"x":2}', "jsonl")
    (2, 2)
    """
    if fmt not in ("csv", "jsonl"):
        return None
    lines = sum(1 for line in content.splitlines() if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def run_import_job(job_id: int) -> None:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status == "done":
        return  # redelivered after it finished: nothing to do
    job.status = "running"
    job.error = None
    project = db.session.get_one(Project, job.project_id)
    params = dict(job.params)
    try:
        stream = artifacts.open_stream(params["artifact_id"])
        job.progress, job.total = 0, estimate_rows(stream.getvalue(), params["format"])
        # Through this session, and committed before the import: on SQLite an open
        # transaction holds the only write lock, and set_progress's own connection
        # would wait on it (a self-deadlock until the busy timeout).
        db.session.commit()
        result = importing.import_file(
            project, stream, params["format"], progress=lambda n: set_progress(job_id, n)
        )
    except ServiceError as exc:
        db.session.rollback()
        job = db.session.get_one(Job, job_id)
        job.status = "failed"
        job.error = exc.message
        job.result = {"details": exc.details}
        db.session.commit()
        artifacts.delete(params["artifact_id"])
        return
    except Exception:
        db.session.rollback()
        job = db.session.get_one(Job, job_id)
        job.status = "failed"
        job.error = traceback.format_exc(limit=3)
        db.session.commit()
        artifacts.delete(params["artifact_id"])
        raise
    job = db.session.get_one(Job, job_id)
    job.status = "done"
    job.result = result.as_dict()
    job.progress = result.total
    job.total = result.total
    db.session.commit()
    artifacts.delete(params["artifact_id"])
    request_embedding(project)


def request_embedding(project: Project) -> Job | None:
    """Queue embedding of the project's items without vectors, unless one is on its way.

    None when the project does not use embeddings (not text, or
    ``LABELER_TEXT_FEATURES`` is tfidf/hashing, or the model is not installed).
    ``LABELER_EMBED_JOBS`` jobs share the items (ids modulo N); the first is returned.
    An embed job not updated within the round staleness limit is taken for lost.
    """
    if vectors.model_for(project) is None:
        return None
    stale = timedelta(seconds=current_app.config["LABELER_ROUND_STALE_SECONDS"])
    current = db.session.scalar(
        select(Job)
        .where(
            Job.project_id == project.id,
            Job.kind == "embed",
            Job.status.in_(("queued", "running")),
            Job.updated_at > utcnow() - stale,
        )
        .order_by(Job.id.desc())
        .limit(1)
    )
    if current is not None:
        return current
    n = current_app.config["LABELER_EMBED_JOBS"]
    made = [
        Job(project_id=project.id, kind="embed", status="queued", params={"shard": [k, n]})
        for k in range(n)
    ]
    db.session.add_all(made)
    db.session.commit()
    for job in made:
        enqueue(EMBED_ITEMS, job.id)
    return made[0]


def run_embed_job(job_id: int, *, batch: int = 256) -> None:
    """Run one slice of an embed job; idempotent, so a redelivered job resumes.

    A slice embeds at most ``LABELER_EMBED_SLICE`` items, then, when items are
    still missing, the job queues itself again and returns: a worker embedding
    a million items (hours) still takes the imports and rounds queued behind it
    in turn, instead of holding them until the last vector is written.
    """
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status == "done":
        return
    project_id = job.project_id
    assert project_id is not None
    k, n = job.params.get("shard", (0, 1))
    before = int(job.progress or 0)
    first = job.total is None
    job.status, job.error = "running", None
    db.session.commit()
    try:
        model = vectors.model_for(db.session.get_one(Project, project_id))
        missing = vectors.count_missing(project_id, model, (k, n)) if model else 0
        db.session.commit()
        if first:
            set_progress(job_id, 0, missing)
        embedded = vectors.embed_missing(
            project_id,
            batch,
            progress=lambda done: set_progress(job_id, before + done),
            shard=(k, n),
            max_items=current_app.config["LABELER_EMBED_SLICE"],
        )
        left = vectors.count_missing(project_id, model, (k, n)) if model else 0
        db.session.commit()
    except Exception:
        db.session.rollback()
        job = db.session.get_one(Job, job_id)
        job.status = "failed"
        job.error = traceback.format_exc(limit=3)
        db.session.commit()
        raise
    job = db.session.get_one(Job, job_id)
    job.progress = before + embedded
    if left:
        # Items imported meanwhile enlarge the job rather than start another one.
        job.total = max(int(job.total or 0), job.progress + left)
        db.session.commit()
        enqueue(EMBED_ITEMS, job_id)
        return
    job.status = "done"
    job.total = max(int(job.total or 0), job.progress)
    job.result = {"embedded": job.progress, "model": model}
    db.session.commit()


def job_for(user: User, job_id: int) -> Job:
    """A job of a project ``user`` may see, for engineers and smes.

    Missing jobs, jobs without a project and jobs of projects the user is not a
    member of are the same 404; other roles get 403.
    """
    job = db.session.get(Job, job_id) if as_id(job_id) is not None else None
    if job is None or job.project_id is None:
        raise NotFound(f"no job {job_id}")
    projects.project_for(user, job.project_id)
    projects.require_role(user, Role.ENGINEER, Role.SME)
    return job


def project_job(project: Project, ref: object) -> Job | None:
    """The job ``ref`` names if it belongs to ``project`` (anything else is None)."""
    job_id = as_id(ref)
    job = db.session.get(Job, job_id) if job_id is not None else None
    return job if job is not None and job.project_id == project.id else None


def recent_jobs(project: Project, limit: int = 5) -> list[Job]:
    """The project's newest jobs, newest first."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.project_id == project.id)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )
