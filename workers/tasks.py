"""Thin task wrappers: take ids, call one service function."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="labeler.import_upload", acks_late=True)
def import_upload(job_id: int) -> None:
    """Import an uploaded file stored in the artifact store (idempotent by external id)."""
    from labeler.services import jobs

    jobs.run_import_job(job_id)


@shared_task(name="labeler.retrain_and_rank", acks_late=True)
def retrain_and_rank(round_id: int) -> None:
    """Retrain the project's model and write a new ranking (idempotent under redelivery)."""
    from labeler.services import training

    training.execute_round(round_id)
