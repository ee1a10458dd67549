"""The HTML pages: login, the project list, the labeling page, the project page.

CSRF stays enabled (as in production): every form POST carries the token the
page rendered.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services import projects as project_service

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = TOKEN_RE.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def login(client: Any, name: str, password: str = "pw") -> Any:
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def page_token(client: Any, path: str) -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def add_items(project: Project, records: list[dict[str, Any]]) -> None:
    from labeler.services import importing

    importing.import_records(project, records)


def make_project(name: str, creator: Any, *members: Any, **kw: Any) -> Project:
    project = project_service.create_project(name, ["pos", "neg"], created_by=creator, **kw)
    for member in members:
        project_service.add_member(project, member)
    add_items(project, [{"id": "a", "text": "first item"}, {"id": "b", "text": "second item"}])
    return project


def test_login_page_and_wrong_password(client: Any, make_user: Any) -> None:
    make_user("ann", "rater", "secret")
    assert client.get("/").status_code == 302  # login required
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="name"' in html and 'name="password"' in html
    assert '<meta name="csrf-token"' in html

    bad = login(client, "ann", "wrong")
    assert bad.status_code == 401
    assert "Wrong name or password" in bad.get_data(as_text=True)
    assert client.get("/").status_code == 302

    good = login(client, "ann", "secret")
    assert good.status_code == 302
    assert good.headers["Location"].endswith("/")
    index = client.get("/")
    assert index.status_code == 200
    text = index.get_data(as_text=True)
    assert "ann" in text and "rater" in text and "Log out" in text


def test_logout_needs_post_with_token(client: Any, make_user: Any) -> None:
    make_user("ann")
    login(client, "ann")
    token = page_token(client, "/")
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/").status_code == 200
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and "/login" in out.headers["Location"]
    assert client.get("/").status_code == 302


def test_login_form_requires_csrf(client: Any, make_user: Any) -> None:
    make_user("ann")
    resp = client.post("/login", data={"name": "ann", "password": "pw"})
    assert resp.status_code == 400
    assert "Error 400" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_rater_sees_only_own_projects(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    rater, _ = make_user("ray")
    mine = make_project("mine-proj", eng, rater)
    other = make_project("other-proj", eng)
    login(client, "ray")

    html = client.get("/").get_data(as_text=True)
    assert "mine-proj" in html and "other-proj" not in html
    assert f"/projects/{mine.id}/label" in html
    assert f'href="/projects/{mine.id}"' not in html  # no manage link for raters

    assert client.get(f"/projects/{mine.id}/label").status_code == 200
    missing = client.get(f"/projects/{other.id}/label")
    assert missing.status_code == 404
    assert "other-proj" not in missing.get_data(as_text=True).replace("'other-proj'", "")
    assert client.get(f"/projects/{other.id}").status_code == 404
    assert client.get("/projects/99999/label").status_code == 404


def test_engineer_index_links_to_project_page(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    project = make_project("proj", eng)
    login(client, "eve")
    html = client.get("/").get_data(as_text=True)
    assert f'href="/projects/{project.id}"' in html
    assert "<progress" in html


def test_rater_gets_403_on_project_page(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    rater, _ = make_user("ray")
    project = make_project("proj", eng, rater)
    login(client, "ray")
    assert client.get(f"/projects/{project.id}").status_code == 403
    token = page_token(client, f"/projects/{project.id}/label")
    resp = client.post(
        f"/projects/{project.id}/settings",
        data={"csrf_token": token, "strategy": "margin", "overlap": "1"},
    )
    assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(Project, project.id).strategy == "random"


def test_label_page_renders(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    rater, _ = make_user("ray")
    project = make_project("proj", eng, rater)
    login(client, "ray")
    resp = client.get(f"/projects/{project.id}/label")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "/static/label.js" in html
    assert 'id="status"' in html and 'aria-live="polite"' in html
    for label, key in (("pos", "1"), ("neg", "2")):
        assert re.search(rf'<button[^>]*data-label="{label}"[^>]*data-hotkey="{key}"', html)
    blob = re.search(r'<script type="application/json" id="project">(.*?)</script>', html, re.S)
    assert blob, "the project is passed to the page as JSON"
    data = json.loads(blob.group(1))
    assert data["id"] == project.id
    assert [lb["name"] for lb in data["labels"]] == ["pos", "neg"]
    # Nothing is fetched from outside.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert client.get("/static/label.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_instructions_are_markdown_with_html_escaped(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    text = "Read **carefully**.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))"
    project = make_project("proj", eng, instructions=text)
    login(client, "eve")
    for path in (f"/projects/{project.id}/label", f"/projects/{project.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<strong>carefully</strong>" in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html
        assert "javascript:alert(2)" not in html.replace("[x](javascript:alert(2))", "")


def test_settings_form_updates_project(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    project = make_project("proj", eng)
    login(client, "eve")
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for strategy in project_service.STRATEGIES:
        assert f'<option value="{strategy}"' in html
    token = csrf_from(html)

    resp = client.post(
        f"/projects/{project.id}/settings",
        data={
            "csrf_token": token,
            "strategy": "margin",
            "overlap": "3",
            "instructions": "Be *kind*.",
        },
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert "Settings saved" in resp.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Project, project.id)
    assert (saved.strategy, saved.overlap, saved.instructions) == ("margin", 3, "Be *kind*.")

    bad = client.post(
        f"/projects/{project.id}/settings",
        data={"csrf_token": token, "strategy": "psychic", "overlap": "1"},
        follow_redirects=True,
    )
    assert "Settings not saved" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Project, project.id).strategy == "margin"

    bad = client.post(
        f"/projects/{project.id}/settings",
        data={"csrf_token": token, "strategy": "random", "overlap": "many"},
        follow_redirects=True,
    )
    assert "overlap must be a whole number" in bad.get_data(as_text=True)


def test_forms_require_csrf(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    project = make_project("proj", eng)
    login(client, "eve")
    resp = client.post(
        f"/projects/{project.id}/settings", data={"strategy": "margin", "overlap": "1"}
    )
    assert resp.status_code == 400
    resp = client.post(
        f"/projects/{project.id}/upload",
        data={"format": "jsonl", "file": (io.BytesIO(b'{"id": "z", "text": "t"}\n'), "x.jsonl")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(Project, project.id).strategy == "random"
    # The items make_project imported queued an embed job; the refused upload queued nothing.
    assert db.session.query(Job).filter(Job.kind == "import").count() == 0


def test_upload_starts_a_job_and_the_page_follows_it(app: Any, client: Any, make_user: Any) -> None:
    # The page's part ends at handing the job to the broker (the test app's SQLite
    # transport); tests/integration/test_demo_and_worker.py runs a real worker.
    eng, _ = make_user("eve", "engineer")
    project = make_project("proj", eng)
    login(client, "eve")
    token = page_token(client, f"/projects/{project.id}")

    missing = client.post(
        f"/projects/{project.id}/upload",
        data={"csrf_token": token, "format": "jsonl"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Choose a file" in missing.get_data(as_text=True)

    resp = client.post(
        f"/projects/{project.id}/upload",
        data={
            "csrf_token": token,
            "format": "jsonl",
            "file": (io.BytesIO(b'{"id": "z", "text": "t"}\n'), "more.jsonl"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    match = re.search(r"[?&]job=(\d+)", resp.headers["Location"])
    assert match, resp.headers["Location"]
    job = db.session.get(Job, int(match.group(1)))
    assert job is not None and job.project_id == project.id and job.kind == "import"
    assert job.params["format"] == "jsonl" and job.params["filename"] == "more.jsonl"
    assert job.status == "queued"

    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f'data-job-url="/api/v1/jobs/{job.id}"' in html
    assert "/static/project.js" in html
    assert f'action="/api/v1/projects/{project.id}/export"' in html
    assert client.get(f"/api/v1/jobs/{job.id}").get_json()["status"] in {
        "queued",
        "running",
        "done",
        "failed",
    }


def test_project_page_shows_a_failed_job_with_its_error_table(client: Any, make_user: Any) -> None:
    eng, _ = make_user("eve", "engineer")
    project = make_project("proj", eng)
    job = Job(
        project_id=project.id,
        kind="import",
        status="failed",
        error="2 bad rows",
        result={
            "details": [
                {"line": 3, "field": "text", "message": "missing"},
                {"line": 7, "field": "id", "message": "<b>dup</b>"},
            ]
        },
    )
    db.session.add(job)
    db.session.commit()
    login(client, "eve")
    html = client.get(f"/projects/{project.id}?job={job.id}").get_data(as_text=True)
    assert "2 bad rows" in html
    assert "<td>3</td><td>text</td><td>missing</td>" in html
    assert "&lt;b&gt;dup&lt;/b&gt;" in html and "<b>dup</b>" not in html


def test_error_pages_are_html(client: Any, make_user: Any) -> None:
    make_user("ray")
    login(client, "ray")
    resp = client.get("/projects/424242/label")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "Error 404" in resp.get_data(as_text=True)
    assert client.get("/no/such/page").status_code == 404


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;", "<img"),
        ("[a](javascript:alert(1))", '<a rel="noopener noreferrer">a</a>', "javascript"),
        ("[a](javascript&colon;alert(1))", '<a rel="noopener noreferrer">a</a>', "href"),
        ("[a](javascript&#58;alert(1))", '<a rel="noopener noreferrer">a</a>', "href"),
        ("[a](javascript&#x3a;alert(1))", '<a rel="noopener noreferrer">a</a>', "href"),
        ("[a](JaVa&#9;ScRiPt:alert(1))", "<a", "href"),
        ("![i](data:image/svg+xml,<svg/onload=alert(1)>)", "<img", "src"),
        ("[a](https://example.org)", '<a href="https://example.org" rel', "<script"),
        ("> quoted", "<blockquote>", "&gt; quoted"),
    ],
)
def test_render_markdown(text: str, present: str, absent: str) -> None:
    from labeler.web.markdown import render_markdown

    html = str(render_markdown(text))
    assert present in html
    assert absent not in html


@pytest.mark.parametrize("ref", ["99999999999999999999", "%C2%B9", "abc", "-1"])
def test_project_page_ignores_job_refs_that_are_no_ids(
    client: Any, make_user: Any, ref: str
) -> None:
    eve, _ = make_user("eve", "engineer")
    project = make_project("jobs-ref", eve)
    login(client, "eve")
    resp = client.get(f"/projects/{project.id}?job={ref}")
    assert resp.status_code == 200
