"""16 clients x 200 next/annotate rounds against a live gunicorn server on PostgreSQL."""

from __future__ import annotations

import random
import threading

import pytest
import requests
from sqlalchemy import func, insert, select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services import assignment, projects, users
from tests.integration.conftest import Server, process_env

pytestmark = pytest.mark.integration

N_CLIENTS = 16
ROUNDS = 200
OVERLAP = 2
N_ITEMS = 1200  # 2,400 label slots for up to 3,200 attempts: the pool runs dry under load


def _client(
    base: str, pid: int, token: str, rng: random.Random, accepted: list, errors: list
) -> None:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    for _ in range(ROUNDS):
        r = s.get(f"{base}/api/v1/projects/{pid}/next", timeout=30)
        if r.status_code == 204:
            return
        if r.status_code != 200:
            errors.append(("next", r.status_code, r.text))
            return
        iid = r.json()["item"]["id"]
        body = {"label": rng.choice(["a", "b"]), "duration_ms": rng.randint(100, 900)}
        if rng.random() < 0.05:
            body = {"kind": "skip"}
        r = s.post(f"{base}/api/v1/projects/{pid}/items/{iid}/annotations", json=body, timeout=30)
        if r.status_code == 201:
            accepted.append(r.json()["id"])
        else:
            errors.append(("annotate", r.status_code, r.text))


def test_many_clients_keep_the_invariants(pg_app, pg_database, tmp_path):
    project = projects.create_project("load", ["a", "b"], overlap=OVERLAP)
    db.session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "external_id": f"x{k}",
                "data": {"text": f"item {k}"},
                "priority": float(k % 97),
            }
            for k in range(N_ITEMS)
        ],
    )
    db.session.commit()
    tokens = []
    for k in range(N_CLIENTS):
        rater = users.create_user(f"rater{k}", "rater")
        projects.add_member(project, rater)
        tokens.append(users.create_token(rater))

    env = process_env(pg_database, tmp_path / "data", "memory://")
    server = Server(env, tmp_path / "server.log", workers=2, threads=8)
    accepted: list[int] = []
    errors: list[tuple] = []
    try:
        threads = [
            threading.Thread(
                target=_client,
                args=(server.url, project.id, tok, random.Random(k), accepted, errors),
            )
            for k, tok in enumerate(tokens)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        server.stop()

    assert errors == []
    db.session.expire_all()
    # Every 2xx annotation is in the database.
    stored = set(db.session.scalars(select(Annotation.id)))
    assert set(accepted) <= stored
    assert len(accepted) == len(stored)
    # No item has more than OVERLAP labels.
    per_item = db.session.execute(
        select(Annotation.item_id, func.count())
        .where(Annotation.is_current.is_(True), Annotation.kind != "skip")
        .group_by(Annotation.item_id)
    ).all()
    assert per_item and max(n for _, n in per_item) <= OVERLAP
    # No rater answered an item twice.
    twice = db.session.execute(
        select(Annotation.item_id, Annotation.rater_id, func.count())
        .group_by(Annotation.item_id, Annotation.rater_id)
        .having(func.count() > 1)
    ).all()
    assert twice == []
    # The pool ran dry: all label slots were filled, and counters match the rows.
    assert sum(n for _, n in per_item) == N_ITEMS * OVERLAP
    assert assignment.counters_consistent(project) == []
