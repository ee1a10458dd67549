"""Active-learning rounds through the service, the API and a real Celery worker."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Item, TrainingRound
from labeler.services import assignment, projects, training, users
from tests.factories import gen_items, gen_project
from tests.integration.conftest import broker_for, process_env

WORDS = {
    "pos": ["great", "love", "excellent", "fine", "happy"],
    "neg": ["awful", "hate", "broken", "poor", "sad"],
}


def _texts(n: int) -> list[dict]:
    rows = []
    for k in range(n):
        side = "pos" if k % 2 == 0 else "neg"
        words = WORDS[side]
        rows.append(
            {
                "external_id": f"t{k}",
                "data": {"text": f"{words[k % 5]} {words[(k + 2) % 5]} thing {k}"},
            }
        )
    return rows


def _project(strategy: str = "margin", retrain_every: int = 4, n: int = 60):
    project = gen_project("al", strategy=strategy, retrain_every=retrain_every)
    gen_items(project, records=_texts(n))
    return project


def _label_truth(item: Item) -> str:
    return "pos" if any(w in item.data["text"] for w in WORDS["pos"]) else "neg"


def test_round_cold_start_then_margin(app, make_user):
    project = _project()
    rater, _ = make_user("r1")
    rnd = training.execute_round(training.request_round(project, "cli", enqueue=False).id)
    assert rnd.status == "done", rnd.error
    assert rnd.cold_start and rnd.strategy_used == "cluster" and rnd.n_ranked == 60
    for _ in range(6):
        got = assignment.next_item(project, rater)
        assignment.annotate(project, rater, got.item, _label_truth(got.item))
    rnd = training.execute_round(training.request_round(project, "cli", enqueue=False).id)
    assert rnd.status == "done", rnd.error
    assert not rnd.cold_start and rnd.strategy_used == "margin" and rnd.n_labels == 6
    # Labeled items sink; the next item served is the top of the new ranking.
    top = db.session.scalar(
        select(Item)
        .where(Item.project_id == project.id, Item.is_open.is_(True), Item.n_done == 0)
        .order_by(Item.priority.desc())
        .limit(1)
    )
    assert assignment.next_item(project, rater).item.id == top.id
    assert len(training.recent_rounds(project)) == 2


def test_triggers_coalesce(app):
    project = _project()
    first = training.request_round(project, "api", enqueue=False)
    second = training.request_round(project, "api", enqueue=False)
    assert first.id == second.id
    assert db.session.scalar(select(func.count(TrainingRound.id))) == 1


def test_failed_round_keeps_old_ranking(app):
    project = _project(strategy="margin")
    before = dict(db.session.execute(select(Item.id, Item.priority)).all())
    project.kind = "tabular"  # items carry text only: featurizing as tabular fails
    db.session.commit()
    rnd = training.request_round(project, "cli", enqueue=False)
    rnd = training.execute_round(rnd.id)
    assert rnd.status == "failed" and rnd.error
    assert dict(db.session.execute(select(Item.id, Item.priority)).all()) == before
    assert training.in_flight(project) is None


@pytest.mark.integration
def test_worker_ranks_after_every_n_labels(
    app, backend, db_url, tmp_path, worker_factory, redis_url
):
    broker = broker_for(backend, tmp_path, redis_url)
    app.config["LABELER_BROKER_URL"] = broker
    app.extensions["celery"].conf.broker_url = broker
    project = _project(retrain_every=4)
    rater = users.create_user("r1", "rater")
    projects.add_member(project, rater)
    token = users.create_token(rater)
    pid = project.id
    db.session.remove()  # on SQLite an open transaction holds the write lock
    worker_factory(process_env(db_url, tmp_path / "data", broker))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(4):
        item = client.get(f"/api/v1/projects/{pid}/next", headers=headers).get_json()["item"]
        label = "pos" if any(w in item["data"]["text"] for w in WORDS["pos"]) else "neg"
        r = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            json={"label": label},
            headers=headers,
        )
        assert r.status_code == 201
        db.session.remove()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        db.session.remove()
        rounds = training.recent_rounds(projects.find_project(pid))
        if rounds and rounds[0].status in ("done", "failed"):
            break
        db.session.remove()
        time.sleep(0.5)
    assert rounds and rounds[0].status == "done", rounds and rounds[0].error
    assert rounds[0].trigger == "auto" and rounds[0].n_labels == 4
    priorities = set(db.session.scalars(select(Item.priority).where(Item.project_id == pid)))
    assert len(priorities) > 2  # a real ranking was written


def test_region_rounds_keep_their_bandit_and_show_regions(app, make_user):
    project = _project(strategy="region", n=80)
    rater, _ = make_user("r1")
    for _ in range(3):
        for _ in range(6):
            got = assignment.next_item(project, rater)
            assignment.annotate(project, rater, got.item, _label_truth(got.item))
        rnd = training.execute_round(training.request_round(project, "cli", enqueue=False).id)
        assert rnd.status == "done", rnd.error
    assert rnd.strategy_used == "region"
    regions = rnd.info["regions"]
    assert regions and all(r["strategy"] for r in regions if r["allocation"])
    # The bandit state survived between rounds: the last round credited earlier picks.
    assert rnd.info["credited"] > 0


def test_a_stale_round_does_not_block_later_triggers(app):
    from datetime import timedelta

    from labeler.models.types import utcnow

    project = _project()
    lost = training.request_round(project, "api", enqueue=False)
    lost.status, lost.started_at = "running", utcnow() - timedelta(hours=2)
    db.session.commit()
    fresh = training.request_round(project, "api", enqueue=False)
    assert fresh.id != lost.id and fresh.status == "queued"
    db.session.refresh(lost)
    assert lost.status == "failed" and "stale" in lost.error
