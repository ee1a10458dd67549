"""Thin task wrappers: take ids, call one service function."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="labeler.import_upload", acks_late=True)
def import_upload(job_id: int) -> None:
    """Import an uploaded file stored in the artifact store (idempotent by external id)."""
    from labeler.services import jobs

    jobs.run_import_job(job_id)
