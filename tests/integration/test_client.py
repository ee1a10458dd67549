"""labeler.client.Client against a live gunicorn server on PostgreSQL (issue 10, item 8):
scripted raters label through ``next``/``annotate``, an engineer exports rows and a
DataFrame, and the API's errors arrive as ApiError with the API's code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labeler.client import ApiError, Client
from labeler.services import projects
from tests.factories import gen_project, gen_user
from tests.integration.conftest import Server, process_env

pytestmark = pytest.mark.integration


@pytest.fixture
def server(pg_app: Any, pg_database: str, tmp_path: Path) -> Iterator[Server]:
    env = process_env(pg_database, tmp_path / "data", f"sqla+sqlite:///{tmp_path / 'b.db'}")
    srv = Server(env, tmp_path / "server.log", workers=2, threads=2)
    yield srv
    srv.stop()


def test_scripted_raters_then_an_export_through_the_client(
    pg_app: Any, server: Server, tmp_path: Path
) -> None:
    project = gen_project("client", ["pos", "neg"], items=6, overlap=2, retrain_every=1000)
    tokens = {}
    for name, role in (("ann", "rater"), ("bob", "rater"), ("eng", "engineer")):
        user, tokens[name] = gen_user(name, role)
        projects.add_member(project, user)
    for name in ("ann", "bob"):
        api = Client(server.url, tokens[name])
        seen = 0
        while (got := api.next(project.id)) is not None:
            item = got["item"]["id"]
            label = "pos" if int(item[1:]) % 3 else "neg"
            answered = api.annotate(project.id, item, label, duration_ms=700)
            assert answered["label"] == label
            seen += 1
        assert seen == 6
        with pytest.raises(ApiError) as denied:
            api.export(project.id)
        assert (denied.value.status, denied.value.code) == (403, "forbidden")

    eng = Client(server.url, tokens["eng"])
    rows = eng.export(project.id, split="0.5,0.5,0", seed=3)
    assert [r["id"] for r in rows] == [f"i{k}" for k in range(6)]
    assert [r["label"] for r in rows] == ["neg", "pos", "pos", "neg", "pos", "pos"]
    assert all(r["source"] == "human" and r["n_raters"] == 2 for r in rows)
    assert {r["annotations"][0]["duration_ms"] for r in rows} == {700}
    frame = eng.export(project.name, as_frame=True, annotations=False)
    assert list(frame["label"]) == [r["label"] for r in rows] and "annotations" not in frame
    table = eng.export(project.id, format="parquet", as_frame=True)
    assert list(table["id"]) == [r["id"] for r in rows]
    path = eng.download(project.id, tmp_path / "x.csv", format="csv", split="0.5,0.5,0", seed=3)
    manifest = eng.manifest(project.id, format="csv", split="0.5,0.5,0", seed=3)
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["split"]["sizes"] == {"train": 3, "dev": 3, "test": 0}
    with pytest.raises(ApiError) as bad:
        eng.export(project.id, min_confidence=3)
    assert (bad.value.status, bad.value.code) == (400, "bad_input")
    assert "min_confidence" in bad.value.message
