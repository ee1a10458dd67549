"""A worker killed mid-round: the old ranking keeps serving, the round is retried."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from labeler.extensions import db
from labeler.models import Item, TrainingRound
from labeler.services import projects, training
from tests.integration.conftest import process_env

pytestmark = pytest.mark.integration

N_ITEMS = 30_000


@pytest.fixture
def pg_app(make_pg_app, redis_url: str):
    return make_pg_app(LABELER_BROKER_URL=redis_url, LABELER_TASK_VISIBILITY_TIMEOUT=3)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.remove()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_leaves_old_ranking_and_round_is_retried(
    pg_app, pg_database, tmp_path, worker_factory, redis_url
):
    project = projects.create_project("crash", ["a", "b"], strategy="committee", retrain_every=0)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    db.session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "external_id": f"c{k}",
                "data": {
                    "text": " ".join(words[(k * j) % 8] for j in range(1, 9)) + f" w{k % 997}"
                },
                "priority": float(k % 13),
            }
            for k in range(N_ITEMS)
        ],
    )
    db.session.commit()
    pid = project.id
    before = dict(db.session.execute(select(Item.id, Item.priority)).all())
    env = process_env(pg_database, tmp_path / "data", redis_url)
    env["LABELER_TASK_VISIBILITY_TIMEOUT"] = "3"
    db.session.remove()

    first = worker_factory(env)
    rnd = training.request_round(projects.find_project(pid), "api")
    round_id = rnd.id
    _wait(
        lambda: db.session.get(TrainingRound, round_id).status == "running",
        60,
        "the round to start",
    )
    # Kill the whole worker, children included, without letting it acknowledge anything.
    for child in _children(first.proc.pid):
        os.kill(child, signal.SIGKILL)
    first.proc.kill()
    first.proc.wait()
    db.session.remove()
    assert db.session.get(TrainingRound, round_id).status == "running"
    assert dict(db.session.execute(select(Item.id, Item.priority)).all()) == before

    worker_factory(env)
    done = _wait(
        lambda: (r := db.session.get(TrainingRound, round_id)).status in ("done", "failed") and r,
        240,
        "the redelivered round",
    )
    assert done.status == "done", done.error
    assert done.attempts == 2
    after = dict(db.session.execute(select(Item.id, Item.priority)).all())
    assert after != before


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out
