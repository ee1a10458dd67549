"""A worker killed (SIGKILL) in the middle of an embed job: a new worker resumes it, every
item ends with exactly one vector for the model, and rounds over the stored vectors stay
idempotent. Real Celery worker processes on Redis and PostgreSQL, the real packaged model."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, insert, select

from labeler.extensions import db
from labeler.models import Annotation, Item, ItemVector, Job, TrainingRound
from labeler.services import jobs, projects, training, users, vectors
from tests.integration.conftest import process_env
from tests.integration.test_worker_crash import _children, _wait

pytestmark = pytest.mark.integration

N_ITEMS = 700
BATCH = 256  # run_embed_job's default: progress moves by whole batches
SUBJECTS = ["the service", "my order", "this phone", "the new app", "our team", "the song"]
VERBS = ["works well", "broke again", "is too slow", "arrived late", "sounds great"]


@pytest.fixture
def pg_app(make_pg_app, redis_url: str):
    return make_pg_app(LABELER_BROKER_URL=redis_url, LABELER_TASK_VISIBILITY_TIMEOUT=3)


def _vectors_per_item(model: str) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(ItemVector.item_id, func.count())
            .where(ItemVector.model == model)
            .group_by(ItemVector.item_id)
        ).all()
    )


def test_a_killed_embed_job_is_resumed_by_a_new_worker(
    pg_app, pg_database, tmp_path, worker_factory, redis_url
):
    project = projects.create_project("emb", ["good", "bad"], strategy="margin", retrain_every=0)
    db.session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "external_id": f"e{k}",
                "data": {"text": f"{SUBJECTS[k % 6]} {VERBS[k % 5]}, case {k}"},
            }
            for k in range(N_ITEMS)
        ],
    )
    db.session.commit()
    pid = project.id
    model = vectors.model_for(project)
    assert model is not None
    env = process_env(pg_database, tmp_path / "data", redis_url)
    env["LABELER_TASK_VISIBILITY_TIMEOUT"] = "3"

    first = worker_factory(env)
    job = jobs.request_embedding(projects.find_project(pid))
    assert job is not None
    job_id = job.id
    db.session.remove()
    # Kill it once a batch is committed, while it embeds the next one.
    _wait(lambda: (db.session.get(Job, job_id).progress or 0) >= BATCH, 180, "a first batch")
    for child in _children(first.proc.pid):
        os.kill(child, signal.SIGKILL)
    first.proc.kill()
    first.proc.wait()
    db.session.remove()
    killed = db.session.get_one(Job, job_id)
    assert killed.status == "running"
    progress_at_kill = killed.progress
    before_restart = sum(_vectors_per_item(model).values())
    assert BATCH <= before_restart < N_ITEMS

    worker_factory(env)
    done = _wait(
        lambda: (j := db.session.get(Job, job_id)).status in ("done", "failed") and j,
        300,
        "the redelivered embed job",
    )
    assert done.status == "done", done.error
    # The new worker embedded exactly the items the killed one had not committed (progress
    # is written after each batch's commit, so it may lag the vectors by a batch).
    assert done.result["embedded"] - progress_at_kill == N_ITEMS - before_restart
    per_item = _vectors_per_item(model)
    assert len(per_item) == N_ITEMS and set(per_item.values()) == {1}
    assert vectors.count_missing(pid, model) == 0
    ids = set(db.session.scalars(select(Item.id).where(Item.project_id == pid)))
    assert set(per_item) == ids
    embed_jobs = db.session.scalar(select(func.count()).where(Job.kind == "embed"))
    assert embed_jobs == 1

    # A round redelivered after a crash runs again on the same stored vectors and writes
    # the same ranking.
    rater = users.create_user("rex", "rater", "pw")
    labeled = sorted(ids)[:40]
    db.session.execute(
        insert(Annotation),
        [
            {
                "project_id": pid,
                "item_id": i,
                "rater_id": rater.id,
                "kind": "label",
                "label": "good" if k % 2 else "bad",
            }
            for k, i in enumerate(labeled)
        ],
    )
    db.session.commit()
    rnd = training.execute_round(training.request_round(project, enqueue=False).id)
    assert rnd.status == "done", rnd.error
    assert rnd.info["features"] == f"embeddings ({model}, stored)"
    first_ranking = dict(db.session.execute(select(Item.id, Item.priority)).all())
    rnd.status = "running"  # as a worker killed mid-round leaves it
    db.session.commit()
    again = training.execute_round(rnd.id)
    assert again.status == "done" and again.attempts == 2, again.error
    assert dict(db.session.execute(select(Item.id, Item.priority)).all()) == first_ranking
    assert db.session.scalar(select(func.count()).select_from(TrainingRound)) == 1
    assert sum(_vectors_per_item(model).values()) == N_ITEMS
