"""Big imports stay all-or-nothing without blocking anyone (issue 6, finding 8).

An item import is staged in ``import_rows`` and published in short
transactions (``labeler/services/importing/batch.py``). On both backends:
others keep working during a big import and never see its pending rows; a bad
row near the end imports nothing; a process that dies leaves nothing visible
(staging) or is finished by the next import (publishing); job progress moves
on SQLite too, and a failed import job deletes its upload.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Artifact, ImportBatch, ImportRow, Item, Job
from labeler.services import artifacts, assignment, importing, jobs, projects
from labeler.services.errors import BadInput, NotFound
from labeler.services.importing import batch as batches
from labeler.services.importing.readers import read

N_ROWS = 30_000


def _csv(n: int, bad_line: int | None = None) -> bytes:
    rows = ["id,text"] + [f"r{k},row number {k} with some words" for k in range(n)]
    if bad_line is not None:
        rows[bad_line - 1] = f"r{bad_line},"
    return ("\n".join(rows) + "\n").encode()


def _count(project_id: int) -> int:
    n = db.session.scalar(select(func.count(Item.id)).where(Item.project_id == project_id))
    db.session.commit()
    return int(n)


def _status(project_id: int) -> str | None:
    status = db.session.scalar(
        select(ImportBatch.status)
        .where(ImportBatch.project_id == project_id)
        .order_by(ImportBatch.id.desc())
        .limit(1)
    )
    db.session.commit()
    return status


def test_others_work_and_see_nothing_pending_during_a_big_import(app: Any, make_user: Any):
    app.config["LABELER_IMPORT_CHUNK"] = 1000
    rater, _ = make_user("rita")
    big = projects.create_project("big", ["pos", "neg"])
    other = projects.create_project("other", ["pos", "neg"])
    for project in (big, other):
        projects.add_member(project, rater)
    importing.import_records(other, [{"id": f"o{k}", "text": f"o {k}"} for k in range(500)])
    big_id = big.id
    done, failed = threading.Event(), []

    def run() -> None:
        try:
            with app.app_context():
                project = db.session.get(type(big), big_id)
                importing.import_file(project, io.BytesIO(_csv(N_ROWS)), "csv")
        except BaseException as exc:  # reported below
            failed.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    waits, pending_checks = [], 0
    while not done.is_set():
        start = time.perf_counter()
        got = assignment.next_item(other, rater)
        if got is not None:
            assignment.annotate(other, rater, got.item, "pos")
        waits.append(time.perf_counter() - start)
        before = _status(big_id)
        seen = assignment.next_item(big, rater)
        try:
            found = assignment.find_item(big, "r0") is not None
        except NotFound:
            found = False
        # A batch only moves forward (pending -> publishing -> published): pending
        # before and after means it was pending throughout these calls.
        if before == "pending" and _status(big_id) == "pending":
            pending_checks += 1
            assert seen is None, "next served a row of a pending batch"
            assert not found, "a row of a pending batch was found by its id"
            assert _count(big_id) == 0
        assignment.release(big, rater)
        time.sleep(0.02)
    thread.join()
    assert not failed, failed
    assert _count(big_id) == N_ROWS
    assert pending_checks >= 3, "the import ended before it could be watched"
    assert len(waits) >= 5
    assert max(waits) < 1.0, f"a rater waited {max(waits):.2f} s during the import"


def test_a_bad_row_near_the_end_imports_nothing_and_leaves_no_staged_rows(app):
    app.config["LABELER_IMPORT_CHUNK"] = 1000
    project = projects.create_project("p", ["pos", "neg"])
    with pytest.raises(BadInput, match="line 9990, field 'text'"):
        importing.import_file(project, io.BytesIO(_csv(10_000, bad_line=9990)), "csv")
    assert _count(project.id) == 0
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
    assert _status(project.id) == "failed"


def test_a_process_that_dies_while_staging_leaves_nothing(app):
    """Staged rows of a dead process are never visible; the next import discards them."""
    app.config["LABELER_IMPORT_CHUNK"] = 100
    project = projects.create_project("p", ["pos", "neg"])
    batch_id = batches._new_batch(project.id, "dead.csv")
    rows = read("csv", io.BytesIO(_csv(1000)), importing.hints_of(project))
    stager = batches._Stager(
        batch_id, importing.hints_of(project), importing.common.Problems("x", "line"), None, None
    )
    # The process "dies" after staging 500 of 1000 rows: it never publishes.
    stager.run(row for k, row in enumerate(rows) if k < 500)
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 500
    assert _count(project.id) == 0
    assert batches.recover(project.id, stale_seconds=0) == [batch_id]
    assert _status(project.id) == "failed"
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
    assert _count(project.id) == 0


def test_a_process_that_dies_while_publishing_is_finished_by_the_next_import(app):
    app.config["LABELER_IMPORT_CHUNK"] = 100
    project = projects.create_project("p", ["pos", "neg"])
    batch_id = batches._new_batch(project.id, "half.csv")
    hints = importing.hints_of(project)
    rows = read("csv", io.BytesIO(_csv(1000)), hints)
    batches._Stager(batch_id, hints, importing.common.Problems("x", "line"), None, None).run(rows)
    batches._start_publishing(batch_id)
    from labeler.services.importing.publish import publish_chunk

    for _ in range(3):  # three chunks published, then the process dies
        assert not publish_chunk(batch_id, 100)
    assert _count(project.id) == 300
    app.config["LABELER_IMPORT_STALE_SECONDS"] = 0
    result = importing.import_records(project, [{"id": "late", "text": "one more"}])
    assert result.created == 1
    assert _count(project.id) == 1001
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
    statuses = db.session.scalars(select(ImportBatch.status).order_by(ImportBatch.id)).all()
    assert statuses == ["published", "published"]


def _job(project: Any, content: bytes, name: str = "up.csv") -> int:
    artifact = artifacts.put(project.id, "upload", name, content)
    job = Job(
        project_id=project.id,
        kind="import",
        status="queued",
        params={"artifact_id": artifact.id, "format": "csv", "filename": name},
    )
    db.session.add(job)
    db.session.commit()
    return int(job.id)


def test_job_progress_moves_during_an_import(app):
    app.config["LABELER_IMPORT_CHUNK"] = 500
    project = projects.create_project("p", ["pos", "neg"])
    job_id = _job(project, _csv(20_000))
    done = threading.Event()

    def run() -> None:
        try:
            with app.app_context():
                jobs.run_import_job(job_id)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    seen: set[int] = set()
    while not done.is_set():
        progress = db.session.scalar(select(Job.progress).where(Job.id == job_id))
        db.session.commit()
        seen.add(int(progress or 0))
        time.sleep(0.01)
    thread.join()
    assert any(0 < p < 20_000 for p in seen), f"progress never moved mid-import: {sorted(seen)}"
    job = db.session.get(Job, job_id, populate_existing=True)
    assert (job.status, job.progress) == ("done", 20_000)


def test_a_failed_import_job_deletes_its_upload(app):
    project = projects.create_project("p", ["pos", "neg"])
    job_id = _job(project, b"id,text\na,\n")
    jobs.run_import_job(job_id)
    job = db.session.get(Job, job_id, populate_existing=True)
    assert job.status == "failed" and "line 2" in job.error
    assert db.session.scalar(select(func.count(Artifact.id))) == 0
