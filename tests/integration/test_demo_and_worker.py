"""The embedded default end to end, and uploads running as tasks on a real worker."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from labeler.extensions import db
from labeler.services import projects, users
from tests.integration.conftest import _free_port, broker_for, process_env

pytestmark = pytest.mark.integration


def _wait_for_job(get, job_id: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get(job_id)
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _cmdline_env(proc_dir: Path) -> str:
    try:
        return (proc_dir / "environ").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _login(session: requests.Session, base: str, name: str, password: str) -> str:
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = session.post(
        f"{base}/login", data={"name": name, "password": password, "csrf_token": token}
    )
    assert r.status_code == 200 and "/login" not in r.url, r.url
    return token


def test_demo_command_serves_seeded_projects_with_a_worker(tmp_path):
    port = _free_port()
    data = tmp_path / "demo-data"
    log = tmp_path / "demo.log"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LABELER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "labeler", "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                requests.get(base + "/login", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        out = log.read_text()
        assert f"http://127.0.0.1:{port}/" in out and "rater1" in out
        assert (data / "labeler.db").exists()
        rater = requests.Session()
        _login(rater, base, "rater1", "rater1")
        names = {p["name"] for p in rater.get(f"{base}/api/v1/projects").json()["projects"]}
        assert names == {"reviews", "digits"}
        got = rater.get(f"{base}/api/v1/projects/reviews/next")
        assert got.status_code == 200 and got.json()["item"]["data"]["text"]
        # The worker started by the demo consumes the embedded SQLite broker.
        eng = requests.Session()
        csrf = _login(eng, base, "engineer", "engineer")
        files = {"file": ("more.jsonl", b'{"id": "extra-1", "text": "added by a worker"}\n')}
        r = eng.post(
            f"{base}/api/v1/projects/reviews/items",
            files=files,
            data={"async": "1", "format": "jsonl"},
            headers={"X-CSRFToken": csrf},
        )
        assert r.status_code == 202, r.text
        job = _wait_for_job(lambda j: eng.get(f"{base}/api/v1/jobs/{j}").json(), r.json()["id"])
        assert job["status"] == "done" and job["result"]["created"] == 1, job
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # The demo stops the worker it started.
    time.sleep(1)
    leftovers = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and str(data) in _cmdline_env(p)
    ]
    assert leftovers == [], "the demo's worker outlived it"


def test_upload_runs_on_a_real_worker(app, backend, db_url, tmp_path, worker_factory, redis_url):
    broker = broker_for(backend, tmp_path, redis_url)
    app.config["LABELER_BROKER_URL"] = broker
    app.extensions["celery"].conf.broker_url = broker
    engineer = users.create_user("eng", "engineer")
    token = users.create_token(engineer)
    project = projects.create_project("up", ["a", "b"], created_by=engineer)
    project_id = project.id
    db.session.remove()
    env = process_env(db_url, tmp_path / "data", broker)
    # This test is about import jobs: with embeddings, an embed job of the 5,000 rows would
    # run on the one worker before the second import (tests/integration/test_vectors*.py).
    env["LABELER_TEXT_FEATURES"] = "tfidf"
    worker_factory(env)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rows = "".join(f'{{"id": "u{k}", "text": "row {k}"}}\n' for k in range(5000)).encode()
    r = client.post(
        f"/api/v1/projects/{project_id}/items",
        data={"file": (__import__("io").BytesIO(rows), "rows.jsonl"), "async": "1"},
        headers=headers,
    )
    assert r.status_code == 202, r.get_json()

    def get(job_id):
        # End this test's transaction each time: on SQLite an open one holds the write lock.
        db.session.remove()
        try:
            return client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        finally:
            db.session.remove()

    job = _wait_for_job(get, r.get_json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["created"] == 5000 and job["progress"] == 5000
    # A bad file fails the job with the line named, and imports nothing.
    bad = b'{"id": "v1", "text": "fine"}\n{"id": "v2"\n'
    r = client.post(
        f"/api/v1/projects/{project_id}/items",
        data={"file": (__import__("io").BytesIO(bad), "bad.jsonl"), "async": "1"},
        headers=headers,
    )
    job = _wait_for_job(get, r.get_json()["id"])
    assert job["status"] == "failed" and "nothing was imported" in job["error"]
    assert job["result"]["details"]["errors"][0]["line"] == 2
    assert projects.project_progress(projects.find_project(project_id))["n_items"] == 5000


def test_import_job_is_idempotent_under_redelivery(app):
    """A worker that dies after importing but before marking the job done gets the
    message again (acks late); the second run must change nothing."""
    from labeler.models import Job
    from labeler.services import artifacts, importing, jobs

    project = projects.create_project("redeliver", ["a", "b"])
    art = artifacts.put(project.id, "upload", "x.jsonl", b'{"id": "1", "text": "t"}\n')
    job = Job(
        project_id=project.id, kind="import", params={"artifact_id": art.id, "format": "jsonl"}
    )
    db.session.add(job)
    db.session.commit()
    # The first delivery got as far as committing the rows, then the worker died.
    importing.import_file(project, artifacts.open_stream(art.id), "jsonl")
    jobs.run_import_job(job.id)
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.result["created"] == 0 and job.result["unchanged"] == 1
    assert projects.project_progress(project)["n_items"] == 1
    # A third delivery after it finished is a no-op.
    jobs.run_import_job(job.id)
    assert db.session.get(Job, job.id).status == "done"
