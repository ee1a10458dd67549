"""The one door from services to the workers: enqueue a task by its name.

Services never import ``workers``: that would point a dependency the wrong way
(``workers.tasks`` imports the services it wraps) and force imports inside
functions to dodge the cycle. A task is looked up by name in the app's Celery
instance, so ``LABELER_EAGER_TASKS=1`` still runs it in-process.
"""

from __future__ import annotations

from flask import current_app

IMPORT_UPLOAD = "labeler.import_upload"
RETRAIN_AND_RANK = "labeler.retrain_and_rank"
EMBED_ITEMS = "labeler.embed_items"
WEAK_APPLY = "labeler.weak_apply"
WEAK_FIT = "labeler.weak_fit"
PROPAGATE = "labeler.propagate"
FIND_MISLABELS = "labeler.find_mislabels"


def enqueue(name: str, *ids: int) -> None:
    """Hand task ``name`` to the workers with ``ids`` (ids only, never ORM objects)."""
    celery = current_app.extensions["celery"]
    if name not in celery.tasks:
        # The web process has not imported the task modules yet (the worker
        # imports them at start): import the app's declared task modules.
        celery.loader.import_default_modules()
    celery.tasks[name].delay(*ids)
