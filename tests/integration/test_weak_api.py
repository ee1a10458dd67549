"""The weak-supervision API: LF versions, preview, stats, switches; Python LFs in a real worker."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Job
from labeler.services import projects
from labeler.services.weak import lfs, votes
from tests.factories import gen_items, gen_project
from tests.integration.conftest import broker_for, process_env

TEXTS = ["good movie", "bad plot", "good but bad", "fine", "Good acting", "so bad"]


def _setup(make_user, **settings):
    sme, token = make_user("s1", "sme")
    rater, rater_token = make_user("r1", "rater")
    project = gen_project("w", members=[sme, rater], **settings)
    gen_items(
        project,
        records=[{"external_id": f"i{k}", "data": {"text": t}} for k, t in enumerate(TEXTS)],
    )
    return project, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {rater_token}"}


def test_lf_routes_version_preview_stats_and_switch(app, client, make_user):
    project, sme, rater = _setup(make_user)
    base = f"/api/v1/projects/{project.id}"
    spec = {"kind": "keyword", "name": "good", "label": "pos", "words": ["good"]}
    r = client.post(f"{base}/lfs", json=spec, headers=sme)
    assert r.status_code == 201, r.get_json()
    v1 = r.get_json()
    assert v1["version"] == 1 and v1["created"] and v1["spec"]["field"] == "text"
    assert client.post(f"{base}/lfs", json=spec, headers=sme).status_code == 200
    r = client.post(f"{base}/lfs", json={**spec, "words": ["good", "fine"]}, headers=sme)
    assert r.status_code == 201 and r.get_json()["version"] == 2
    got = client.get(f"{base}/lfs/good", headers=sme).get_json()
    assert [v["version"] for v in got["versions"]] == [2, 1]

    bad = client.post(f"{base}/lfs", json={**spec, "label": "nope"}, headers=sme)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "spec.label"
    bad = client.post(
        f"{base}/lfs",
        json={"kind": "regex", "name": "r", "label": "neg", "pattern": "(?=x)"},
        headers=sme,
    )
    assert bad.status_code == 400 and "pattern" in bad.get_json()["error"]["message"]
    bad = client.post(f"{base}/lfs", json={**spec, "words": []}, headers=sme)
    assert bad.status_code == 400

    client.post(
        f"{base}/lfs",
        json={"kind": "keyword", "name": "bad", "label": "neg", "words": ["bad"]},
        headers=sme,
    )
    r = client.post(
        f"{base}/lfs/preview",
        json={
            "spec": {"kind": "regex", "name": "p", "label": "pos", "pattern": "goo+d"},
            "sample": 5,
        },
        headers=sme,
    )
    assert r.status_code == 200, r.get_json()
    p = r.get_json()
    assert p["exact"] and p["n_items"] == 6 and p["n_matched"] == 3
    assert p["coverage"] == pytest.approx(0.5)
    by_id = {m["id"]: m for m in p["sample"]}
    assert by_id["i0"]["spans"] == [[0, 4]] and by_id["i4"]["spans"] == [[0, 4]]
    # "good but bad": the bad LF votes neg there -> a conflict with the preview's pos.
    per = {x["name"]: x for x in p["per_lf"]}
    assert per["bad"] == {"name": "bad", "overlap": 1, "conflict": 1}
    assert p["conflict"] == pytest.approx(1 / 3)

    client.post(f"{base}/weak/fit", json={"method": "majority"}, headers=sme)  # a job, queued
    stats = client.get(f"{base}/lfs/stats", headers=sme).get_json()
    assert {r["name"] for r in stats["lfs"]} == {"good", "bad"}
    r = client.patch(f"{base}/lfs/bad", json={"active": False}, headers=sme)
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert [lf.name for lf in lfs.used(projects.find_project(project.id))] == ["good"]

    # A rater never sees LFs, votes or previews; a non-member sees no project.
    for method, path, body in (
        ("GET", f"{base}/lfs", None),
        ("GET", f"{base}/lfs/good", None),
        ("GET", f"{base}/lfs/stats", None),
        ("POST", f"{base}/lfs/preview", {"spec": spec}),
        ("POST", f"{base}/lfs", spec),
        ("POST", f"{base}/weak/fit", {}),
    ):
        assert client.open(path, method=method, json=body, headers=rater).status_code == 403
    _, outsider = make_user("o1", "sme")
    r = client.get(f"{base}/lfs", headers={"Authorization": f"Bearer {outsider}"})
    assert r.status_code == 404


def test_openapi_lists_the_weak_routes(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    for path in ("/lfs", "/lfs/preview", "/lfs/stats", "/lfs/{lf}", "/lfs/upload", "/weak/fit"):
        assert f"/api/v1/projects/{{pid}}{path}" in paths, path
    assert "KeywordSpec" in doc["components"]["schemas"]


GOOD_AND_BAD = """
from snorkel.labeling import labeling_function

@labeling_function()
def says_good(x):
    return 0 if "good" in x.text.lower() else -1

@labeling_function()
def raises(x):
    raise RuntimeError("boom")

@labeling_function()
def loops(x):
    while True:
        pass
"""


@pytest.mark.integration
def test_python_lfs_run_in_a_worker_child_process(
    app, backend, db_url, tmp_path, client, make_user, worker_factory, redis_url
):
    broker = broker_for(backend, tmp_path, redis_url)
    app.config["LABELER_BROKER_URL"] = broker
    app.extensions["celery"].conf.broker_url = broker
    project, sme, _ = _setup(make_user)
    pid = project.id
    base = f"/api/v1/projects/{pid}"
    r = client.post(
        f"{base}/lfs/upload", json={"filename": "mine.py", "source": GOOD_AND_BAD}, headers=sme
    )
    assert r.status_code == 201, r.get_json()
    assert sorted(x["name"] for x in r.get_json()["lfs"]) == ["loops", "raises", "says_good"]
    syntax = client.post(f"{base}/lfs/upload", json={"source": "def (:\n"}, headers=sme)
    assert syntax.status_code == 400 and syntax.get_json()["error"]["details"]["field"] == "file"

    job = client.post(f"{base}/weak/fit", json={"method": "majority"}, headers=sme).get_json()
    db.session.remove()  # on SQLite an open transaction holds the write lock
    env = process_env(db_url, tmp_path / "data", broker)
    env["LABELER_PYTHON_LF_TIMEOUT"] = "3"
    worker_factory(env)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        db.session.remove()
        got = db.session.get(Job, job["id"])
        status = got.status if got is not None else None
        db.session.remove()  # never sleep holding SQLite's write lock: the worker needs it
        if status in ("done", "failed"):
            break
        time.sleep(0.5)
    got = db.session.get(Job, job["id"])
    assert got.status == "done", (got.status, got.error, got.result)
    listed = {x["name"]: x for x in lfs.list_lfs(projects.find_project(pid))}
    assert listed["says_good"]["error"] is None and listed["says_good"]["n_votes"] == 3
    assert "boom" in listed["raises"]["error"]
    assert "timed out" in listed["loops"]["error"]
    voted = list(votes.of_lf(listed["says_good"]["id"]))
    good_items = set(db.session.scalars(select(Item.external_id).where(Item.id.in_(voted))))
    assert good_items == {"i0", "i2", "i4"}
    run = got.result["run"]
    assert run["status"] == "done" and run["metrics"]["lfs"] == ["says_good"]


def test_preview_sees_items_a_reimport_changed(app, client, make_user):
    from labeler.services import importing

    sme, token = make_user("s1", "sme")
    project = gen_project("pv", members=[sme])
    importing.import_records(project, [{"id": "a", "text": "plain"}, {"id": "b", "text": "x"}])
    url = f"/api/v1/projects/{project.id}/lfs/preview"
    body = {"spec": {"kind": "keyword", "name": "k", "label": "pos", "words": ["spam"]}}
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(url, json=body, headers=headers).get_json()["n_matched"] == 0
    importing.import_records(project, [{"id": "a", "text": "spam now"}])  # same ids, new text
    got = client.post(url, json=body, headers=headers).get_json()
    assert got["n_matched"] == 1 and got["sample"][0]["spans"] == [[0, 4]]
