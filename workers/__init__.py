"""Celery wired the Flask way: ``celery_init_app`` with an app-context Task.

Tasks live in ``workers.tasks``; they take ids, never ORM objects.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config["LABELER_BROKER_URL"]
    celery = Celery(app.name, task_cls=FlaskTask, include=["workers.tasks"])
    celery.conf.update(
        broker_url=broker,
        # Results are not needed: jobs report progress in the database.
        task_ignore_result=True,
        result_backend=None,
        # Acknowledge after the task ran, so a worker killed mid-task gets it redelivered;
        # tasks are written to be idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_always_eager=app.config.get("LABELER_EAGER_TASKS", False),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # A task whose worker died unacknowledged goes back to the queue after this
        # long (Redis' default is an hour); tasks are idempotent, so an early
        # redelivery of a slow task costs time, not correctness.
        broker_transport_options=(
            {"visibility_timeout": app.config["LABELER_TASK_VISIBILITY_TIMEOUT"]}
            if broker.startswith(("redis://", "rediss://"))
            else {}
        ),
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
