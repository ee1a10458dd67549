"""Same-rater races on real PostgreSQL behind a real gunicorn server (issue 6, finding 4).

Twenty parallel ``next`` calls of one rater used to lease several distinct items
(each saw no committed lease yet), and two parallel answers of one rater to one
item ended in a 500 (``UniqueViolation uq_annotations_current``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, insert, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Lease
from labeler.services import assignment, projects, users
from tests.integration.conftest import Server, process_env

pytestmark = pytest.mark.integration

PARALLEL = 20
TRIALS = 5


@pytest.fixture
def server(pg_app: Any, pg_database: str, tmp_path: Path) -> Iterator[Server]:
    env = process_env(pg_database, tmp_path / "data", f"sqla+sqlite:///{tmp_path / 'b.db'}")
    srv = Server(env, tmp_path / "server.log", workers=3, threads=8)
    yield srv
    srv.stop()


def _all_at_once(n: int, call: Callable[[], requests.Response]) -> list[requests.Response]:
    """Run ``call`` on ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n)
    out: list[requests.Response] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        resp = call()
        with lock:
            out.append(resp)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(out) == n
    return out


def _seed(n_items: int) -> tuple[Any, str]:
    project = projects.create_project("race", ["a", "b"], overlap=1)
    db.session.execute(
        insert(Item),
        [
            {"project_id": project.id, "external_id": f"x{k}", "data": {"text": f"item {k}"}}
            for k in range(n_items)
        ],
    )
    rater = users.create_user("racer", "rater")
    projects.add_member(project, rater)
    return project, users.create_token(rater)


def test_parallel_next_of_one_rater_leases_one_item(pg_app: Any, server: Server) -> None:
    project, token = _seed(200)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{server.url}/api/v1/projects/{project.id}/next"

    def one() -> requests.Response:
        return requests.get(url, headers=headers, timeout=30)

    for trial in range(TRIALS):
        got = _all_at_once(PARALLEL, one)
        assert {r.status_code for r in got} == {200}, [r.text for r in got]
        items = {r.json()["item"]["id"] for r in got}
        assert len(items) == 1, f"trial {trial}: one rater leased {sorted(items)}"
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Lease.id))) == 1
        assert assignment.counters_consistent(project) == []
        # Answer it, so the next trial races for a new lease.
        (iid,) = items
        answer = requests.post(
            f"{server.url}/api/v1/projects/{project.id}/items/{iid}/annotations",
            json={"label": "a"},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == 201, answer.text


def test_parallel_same_answer_is_idempotent_never_500(pg_app: Any, server: Server) -> None:
    project, token = _seed(TRIALS)
    headers = {"Authorization": f"Bearer {token}"}
    for trial in range(TRIALS):
        iid = f"x{trial}"
        url = f"{server.url}/api/v1/projects/{project.id}/items/{iid}/annotations"

        def one(url: str = url) -> requests.Response:
            return requests.post(url, json={"label": "b"}, headers=headers, timeout=30)

        got = _all_at_once(8, one)
        statuses = sorted(r.status_code for r in got)
        assert set(statuses) <= {201, 409}, [r.text for r in got]
        ids = {r.json()["id"] for r in got if r.status_code == 201}
        assert len(ids) == 1, f"trial {trial}: one answer, one annotation ({ids})"
        db.session.expire_all()
        rows = db.session.scalars(
            select(Annotation).join(Item).where(Item.external_id == iid)
        ).all()
        assert [(a.label, a.is_current) for a in rows] == [("b", True)]
    assert assignment.counters_consistent(project) == []
