"""Thin task wrappers: take ids, call one service function.

Services reach these only through ``labeler.services.enqueue`` by task name, so
this module imports the services at the top and nothing imports it back.
"""

from __future__ import annotations

from celery import shared_task

from labeler.services import jobs, training
from labeler.services.enqueue import (
    EMBED_ITEMS,
    FIND_MISLABELS,
    IMPORT_UPLOAD,
    PROPAGATE,
    RETRAIN_AND_RANK,
    WEAK_APPLY,
    WEAK_FIT,
)
from labeler.services.quality import mislabels
from labeler.services.weak import jobs as weak_jobs


@shared_task(name=IMPORT_UPLOAD, acks_late=True)
def import_upload(job_id: int) -> None:
    """Import an uploaded file stored in the artifact store (idempotent by external id)."""
    jobs.run_import_job(job_id)


@shared_task(name=RETRAIN_AND_RANK, acks_late=True)
def retrain_and_rank(round_id: int) -> None:
    """Retrain the project's model and write a new ranking (idempotent under redelivery)."""
    training.execute_round(round_id)


@shared_task(name=EMBED_ITEMS, acks_late=True)
def embed_items(job_id: int) -> None:
    """Embed a project's items that have no stored vector (resumes after a kill)."""
    jobs.run_embed_job(job_id)


@shared_task(name=WEAK_APPLY, acks_late=True)
def weak_apply(job_id: int) -> None:
    """Apply the project's stale labeling functions (resumes from the watermarks)."""
    weak_jobs.run_job(job_id)


@shared_task(name=WEAK_FIT, acks_late=True)
def weak_fit(job_id: int) -> None:
    """Apply what is stale, then fit the label model and store its probabilities."""
    weak_jobs.run_job(job_id)


@shared_task(name=PROPAGATE, acks_late=True)
def propagate(job_id: int) -> None:
    """Propagate labels over the item graph to the items without one."""
    weak_jobs.run_job(job_id)


@shared_task(name=FIND_MISLABELS, acks_late=True)
def find_mislabels(job_id: int) -> None:
    """Find the project's likely mislabels (cross-validated model + cleanlab) and flag them."""
    mislabels.run_job(job_id)
