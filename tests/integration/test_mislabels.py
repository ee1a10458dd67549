"""Likely mislabels of a project: found, flagged into the adjudication queue, settled
items left alone; the CLI and the worker job. On SQLite and PostgreSQL (``app``)."""

from __future__ import annotations

import json

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Job
from labeler.services import assignment, projects, users
from labeler.services.quality import adjudication, mislabels
from tests.factories import gen_items, gen_project

GOOD = ["great", "lovely", "superb", "wonderful", "excellent", "fine", "nice", "brilliant"]
BAD = ["awful", "terrible", "horrible", "dreadful", "poor", "nasty", "rotten", "lousy"]


def _project():
    """60 items; a rater labels them all by their word, except three good ones as neg."""
    rater = users.create_user("r1", "rater")
    project = gen_project("m", labels=["pos", "neg"], members=[rater])
    records, truth = [], {}
    for k in range(60):
        words = GOOD if k % 2 == 0 else BAD
        text = f"{words[k % 8]} {words[(k + 3) % 8]} item"
        records.append({"external_id": f"x{k}", "data": {"text": text}})
        truth[f"x{k}"] = "pos" if k % 2 == 0 else "neg"
    gen_items(project, records=records)
    wrong = {"x0", "x10", "x20"}
    for ext, label in truth.items():
        assignment.answer(project, rater, ext, ("neg" if ext in wrong else label))
    return project, wrong


def test_wrong_labels_are_found_and_flagged_and_decided_ones_are_left_alone(app):
    project, wrong = _project()
    listed = mislabels.find(project, flag=False)
    assert listed["reason"] is None and listed["n_checked"] == 60
    found = {row["id"] for row in listed["items"]}
    assert wrong <= found and len(found) <= 6, listed["items"]
    assert all(row["suggested"] == "pos" for row in listed["items"] if row["id"] in wrong)
    assert adjudication.queue_size(project) == 0  # listing flags nothing

    sme = users.create_user("s1", "sme")
    projects.add_member(project, sme)
    adjudication.decide(project, "x10", "neg", sme, "checked: it is neg")
    flagged = mislabels.find(project, flag=True)
    ids = {row["id"] for row in flagged["items"]}
    assert "x10" not in ids and {"x0", "x20"} <= ids
    queue = adjudication.queue(project, sme)
    reasons = {e["id"]: e for e in queue["items"]}
    assert {"x0", "x20"} <= set(reasons)
    assert "likely mislabeled" in json.dumps(reasons["x0"])


def test_too_few_labels_say_why(app):
    project = gen_project("few", labels=["pos", "neg"], items=3)
    out = mislabels.find(project, flag=True)
    assert out["n_checked"] == 0 and "two labeled classes" in out["reason"]


def test_cli_and_worker_job(app, runner):
    project, wrong = _project()
    out = runner.invoke(main, ["mislabels", "m", "--json", "--no-flag"])
    assert out.exit_code == 0, out.output
    assert wrong <= {row["id"] for row in json.loads(out.stdout)["items"]}
    assert adjudication.queue_size(project) == 0
    text = runner.invoke(main, ["mislabels", "m"])
    assert text.exit_code == 0 and "are flagged" in text.output, text.output
    assert adjudication.queue_size(project) >= 3
    job = mislabels.request_job(project)
    assert db.session.get(Job, job.id).status == "queued"
    mislabels.run_job(job.id)  # the task body, as a worker runs it
    got = db.session.get(Job, job.id)
    assert got.status == "done" and got.result["n_flagged"] >= 3, (got.status, got.error)


def test_the_api_queues_a_job_for_smes_and_engineers_only(app, client, make_user):
    project, _ = _project()
    sme, sme_token = make_user("s2", "sme")
    rater, rater_token = make_user("r2", "rater")
    for user in (sme, rater):
        projects.add_member(project, user)
    url = f"/api/v1/projects/{project.id}/mislabels"
    assert client.post(url, headers={"Authorization": f"Bearer {rater_token}"}).status_code == 403
    r = client.post(url, headers={"Authorization": f"Bearer {sme_token}"})
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["kind"] == "mislabels" and r.get_json()["status"] == "queued"


def test_the_page_button_queues_the_job(app, client, make_user):
    project, _ = _project()
    sme, _ = make_user("s3", "sme", password="pw-s3")
    projects.add_member(project, sme)
    from tests.integration.test_pages import csrf_from, login

    login(client, "s3", "pw-s3")
    page = client.get(f"/projects/{project.id}/adjudicate")
    assert page.status_code == 200 and b"Find likely mislabels" in page.data
    token = csrf_from(page.get_data(as_text=True))
    r = client.post(f"/projects/{project.id}/mislabels", data={"csrf_token": token})
    assert r.status_code == 302
    jobs = db.session.query(Job).filter(Job.kind == "mislabels").all()
    assert len(jobs) == 1 and jobs[0].created_by_id == sme.id
