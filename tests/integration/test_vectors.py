"""Stored item vectors: embedded once by a job, reused by rounds, resumed after a kill,
and served as an item's nearest neighbours. The real packaged model, no mocks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import ItemVector, Job, TrainingRound
from labeler.services import jobs, training, vectors
from tests.factories import gen_items, gen_project

pytestmark = pytest.mark.integration

# Pairs of paraphrases; no pair shares its topic with another.
PAIRS = [
    ("How do I reset my password?", "I forgot my password, how can I change it?"),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("When does the train to Paris leave?", "What time is the departure of the Paris train?"),
    ("This pizza is delicious.", "The pizza tastes really good."),
    ("It will rain heavily tomorrow.", "Expect a lot of rain tomorrow."),
]


def _sentences_project(name: str = "p", members: Any = ()) -> Any:
    project = gen_project(name, ["a", "b"], retrain_every=0, members=members)
    records = [
        {"external_id": f"s{k}{j}", "data": {"text": text}}
        for k, pair in enumerate(PAIRS)
        for j, text in enumerate(pair)
    ]
    gen_items(project, records=records)
    return project


def _n_vectors() -> int:
    return int(db.session.scalar(select(func.count()).select_from(ItemVector)) or 0)


def test_vectors_are_stored_once_and_rounds_reuse_them(app, backend):
    project = gen_project("p", ["a", "b"], retrain_every=0)
    gen_items(project, 40)
    first = training.execute_round(training.request_round(project, enqueue=False).id)
    assert first.status == "done", first.error
    assert first.info["features"] == "tfidf (embeddings not ready: 0/40 items)"
    job = db.session.scalar(select(Job).where(Job.kind == "embed"))
    assert job is not None and job.status == "queued"
    # A second round before the vectors are ready does not queue a second job.
    training.execute_round(training.request_round(project, enqueue=False).id)
    assert db.session.scalar(select(func.count()).where(Job.kind == "embed")) == 1

    jobs.run_embed_job(job.id)
    db.session.expire_all()
    job = db.session.get_one(Job, job.id)
    assert (job.status, job.progress, job.total) == ("done", 40, 40), job.error
    assert _n_vectors() == 40
    stamps = dict(db.session.execute(select(ItemVector.item_id, ItemVector.created_at)).all())

    rnd = training.execute_round(training.request_round(project, enqueue=False).id)
    assert rnd.status == "done", rnd.error
    assert rnd.info["features"].startswith("embeddings (all-MiniLM-L6-v2@"), rnd.info
    assert rnd.info["features"].endswith(", stored)")
    assert dict(db.session.execute(select(ItemVector.item_id, ItemVector.created_at)).all()) == (
        stamps
    )
    # Everything embedded: a new request finds nothing to do.
    assert vectors.embed_missing(project.id) == 0
    assert db.session.scalar(select(func.count()).select_from(TrainingRound)) == 3


def test_a_killed_embedding_job_resumes_without_duplicates(app, backend):
    project = gen_project("p", ["a", "b"])
    gen_items(project, 30)

    def die_after_first_batch(n: int) -> None:
        raise RuntimeError(f"killed after {n}")

    with pytest.raises(RuntimeError, match="killed after 8"):
        vectors.embed_missing(project.id, batch=8, progress=die_after_first_batch)
    assert _n_vectors() == 8
    seen: list[int] = []
    assert vectors.embed_missing(project.id, batch=8, progress=seen.append) == 22
    assert seen == [8, 16, 22]
    assert _n_vectors() == 30
    assert vectors.embed_missing(project.id, batch=8) == 0
    assert _n_vectors() == 30


def test_tfidf_projects_are_not_embedded(app, backend):
    app.config["LABELER_TEXT_FEATURES"] = "tfidf"
    project = gen_project("p", ["a", "b"], retrain_every=0)
    gen_items(project, 20)
    rnd = training.execute_round(training.request_round(project, enqueue=False).id)
    assert rnd.info["features"] == "tfidf"
    assert jobs.request_embedding(project) is None
    assert vectors.embed_missing(project.id) == 0 and _n_vectors() == 0


def test_similar_items_put_the_paraphrase_first(app, backend):
    project = _sentences_project()
    vectors.embed_missing(project.id)
    items = {i.external_id: i for i in project_items(project)}
    for k in range(len(PAIRS)):
        for j in (0, 1):
            got = vectors.similar_items(project, items[f"s{k}{j}"], k=3)
            assert got["similar"][0]["id"] == f"s{k}{1 - j}", (PAIRS[k][j], got["similar"])
            sims = [s["similarity"] for s in got["similar"]]
            assert sims == sorted(sims, reverse=True)


def project_items(project: Any) -> list[Any]:
    from labeler.models import Item

    return list(db.session.scalars(select(Item).where(Item.project_id == project.id)))


def test_similar_route(app, backend, client, make_user):
    rater, token = make_user("rex")
    outsider, other_token = make_user("out")
    project = _sentences_project(members=[rater])
    pid = project.id
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/projects/{pid}/items/s10/similar"

    r = client.get(url, headers=headers)
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["error"]["details"]["reason"] == "vectors_not_ready"

    vectors.embed_missing(pid)
    r = client.get(url + "?k=2", headers=headers)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["item"] == "s10" and body["ready"] == body["total"] == 10
    assert [s["id"] for s in body["similar"]][:1] == ["s11"] and len(body["similar"]) == 2
    assert set(body["similar"][0]) == {"id", "data", "similarity"}
    assert body["similar"][0]["data"] == {"text": PAIRS[1][1]}

    assert (
        client.get(f"/api/v1/projects/{pid}/items/nope/similar", headers=headers).status_code == 404
    )
    assert client.get(url + "?k=0", headers=headers).status_code == 400
    assert client.get(url + "?k=101", headers=headers).status_code == 400
    other = {"Authorization": f"Bearer {other_token}"}
    assert client.get(url, headers=other).status_code == 404


def test_embed_jobs_share_a_project(app, backend):
    app.config["LABELER_EMBED_JOBS"] = 3
    project = gen_project("p", ["a", "b"])
    gen_items(project, 20)
    first = jobs.request_embedding(project)
    assert first is not None
    made = list(db.session.scalars(select(Job).where(Job.kind == "embed").order_by(Job.id)))
    assert [j.params["shard"] for j in made] == [[0, 3], [1, 3], [2, 3]]
    again = jobs.request_embedding(project)  # in flight: nothing new
    assert again is not None and again.id in {j.id for j in made}
    assert db.session.scalar(select(func.count()).where(Job.kind == "embed")) == 3
    for job in made:
        jobs.run_embed_job(job.id)
    db.session.expire_all()
    totals = [db.session.get_one(Job, j.id).result["embedded"] for j in made]
    assert sum(totals) == 20 and all(t > 0 for t in totals)
    assert _n_vectors() == 20


def test_an_embed_job_runs_in_slices_and_lets_other_tasks_through(app, backend, monkeypatch):
    """A slice stops after LABELER_EMBED_SLICE items and queues the same job again."""
    app.config["LABELER_EMBED_SLICE"] = 4
    project = gen_project("p", ["a", "b"])
    gen_items(project, 10)
    job = jobs.request_embedding(project)
    assert job is not None
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda name, job_id: queued.append((name, job_id)))
    states = []
    for _ in range(3):
        jobs.run_embed_job(job.id, batch=4)
        db.session.expire_all()
        got = db.session.get_one(Job, job.id)
        states.append((got.status, got.progress, got.total, _n_vectors()))
    assert states == [("running", 4, 10, 4), ("running", 8, 10, 8), ("done", 10, 10, 10)]
    assert queued == [(jobs.EMBED_ITEMS, job.id)] * 2
    assert db.session.get_one(Job, job.id).result["embedded"] == 10
