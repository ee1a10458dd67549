"""Issue 6, finding 3: no input breaks the API; every bad field is a 400 naming it.

Each case here answered 500, or was stored as nonsense, before the declared
schemas (on SQLite, PostgreSQL or both). The tests run on both backends.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, insert, select, update

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Annotation, Item, Project
from labeler.services import projects
from labeler.services.errors import BadInput


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def setup(app, make_user):
    engineer, eng_token = make_user("eng", "engineer")
    rater, rater_token = make_user("rita", "rater")
    project = projects.create_project("news", ["sport", "politics"], overlap=2, created_by=engineer)
    projects.add_member(project, rater)
    db.session.execute(
        insert(Item),
        [
            {"project_id": project.id, "external_id": f"n{k}", "data": {"text": f"story {k}"}}
            for k in range(3)
        ],
    )
    db.session.commit()
    return {"project": project, "pid": project.id, "eng": eng_token, "rater": rater_token}


def _settings(pid: int) -> tuple[object, ...]:
    db.session.expire_all()
    p = db.session.get(Project, pid)
    return (p.overlap, p.retrain_every, p.lease_seconds, p.instructions, p.strategy)


def _assert_400(r, field: str) -> None:
    assert r.status_code == 400, r.get_data(as_text=True)[:500]
    err = r.get_json()["error"]
    assert err["code"] == "bad_input"
    assert err["details"]["field"] == field, err
    assert field in err["message"], err


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("overlap", 10**9),
        ("overlap", True),
        ("retrain_every", -1),
        ("retrain_every", "abc"),
        ("lease_seconds", "abc"),
        ("lease_seconds", 10**12),
        ("lease_seconds", []),
        ("instructions", 5),
        ("instructions", "a\x00b"),
        ("strategy", "psychic"),
        ("name", "12345"),  # a name must not read as an id
        ("name", "a\nb"),
        ("kind", "image"),  # not a setting: a project keeps its kind
    ],
)
def test_patch_refuses_bad_fields_and_stores_nothing(client, setup, field, value):
    before = _settings(setup["pid"])
    r = client.patch(
        f"/api/v1/projects/{setup['pid']}", json={field: value}, headers=_auth(setup["eng"])
    )
    _assert_400(r, field)
    assert _settings(setup["pid"]) == before


def test_patch_refuses_30_mb_of_instructions(client, setup):
    r = client.patch(
        f"/api/v1/projects/{setup['pid']}",
        json={"instructions": "x" * 30_000_000},
        headers=_auth(setup["eng"]),
    )
    _assert_400(r, "instructions")
    assert _settings(setup["pid"])[3] == ""


def test_patch_lease_seconds_abc_then_next_still_works(client, setup):
    """It used to be stored (200) and then every ``next`` of the project was a 500."""
    pid, tok = setup["pid"], setup["rater"]
    r = client.patch(
        f"/api/v1/projects/{pid}", json={"lease_seconds": "abc"}, headers=_auth(setup["eng"])
    )
    _assert_400(r, "lease_seconds")
    r = client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
    assert r.status_code == 200 and r.get_json()["item"]["id"] == "n0"
    r = client.patch(
        f"/api/v1/projects/{pid}", json={"lease_seconds": 30.0}, headers=_auth(setup["eng"])
    )
    assert r.status_code == 200 and r.get_json()["lease_seconds"] == 30


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lease_seconds", "abc"),
        ("lease_seconds", None),
        ("lease_seconds", []),
        ("lease_seconds", 10**20),
        ("retrain_every", "abc"),
        ("labels", 5),
        ("labels", [None]),
        ("labels", ["a", "a"]),
        ("labels", ["x" * 121]),
        ("labels", ["a\x00"]),
        ("name", 123),
        ("name", "123"),
        ("name", "a\x00b"),
        ("kind", []),
        ("overlap", 101),
        ("text_field", ""),
        ("colour", "red"),
    ],
)
def test_create_refuses_bad_fields(client, setup, field, value):
    body = {"name": "fresh", "labels": ["a", "b"], field: value}
    r = client.post("/api/v1/projects", json=body, headers=_auth(setup["eng"]))
    _assert_400(r, field)
    assert db.session.scalar(select(func.count(Project.id))) == 1


def test_create_refuses_nan(client, setup):
    raw = '{"name": "fresh", "labels": ["a"], "lease_seconds": NaN}'
    r = client.post(
        "/api/v1/projects", data=raw, content_type="application/json", headers=_auth(setup["eng"])
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_ms", True),
        ("duration_ms", 10**20),
        ("duration_ms", 2**31),
        ("duration_ms", -1),
        ("kind", ["label"]),
        ("label", "sp\x00rt"),
        ("label", "x" * 121),
        ("label", 5),
    ],
)
def test_annotate_refuses_bad_fields_and_stores_nothing(client, setup, field, value):
    pid, tok = setup["pid"], setup["rater"]
    client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
    body = {"label": "sport", field: value}
    r = client.post(f"/api/v1/projects/{pid}/items/n0/annotations", json=body, headers=_auth(tok))
    _assert_400(r, field)
    assert db.session.scalar(select(func.count(Annotation.id))) == 0


@pytest.mark.parametrize(
    "raw",
    ["[" * 100_000, '{"label": "sport"', "not json", "", '{"label": "\\ud800"}'],
)
def test_malformed_or_deep_json_is_400_invalid_json(client, setup, raw):
    pid, tok = setup["pid"], setup["rater"]
    for url in (
        f"/api/v1/projects/{pid}/items/n0/annotations",
        f"/api/v1/projects/{pid}/items",
        "/api/v1/projects",
    ):
        r = client.post(
            url,
            data=raw,
            content_type="application/json",
            headers=_auth(setup["eng"] if "annotations" not in url else tok),
        )
        assert r.status_code == 400, (url, r.get_data(as_text=True)[:300])
        assert "invalid JSON" in r.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/99999999999999999999",
        "/api/v1/projects/2147483648/next",
        "/api/v1/projects/%C2%B9",
        "/api/v1/projects/%C2%B9/progress",
        "/api/v1/projects/a%00b",
        "/api/v1/jobs/99999999999999999999",
        "/api/v1/projects/{pid}/items/" + "x" * 300,
        "/api/v1/projects/{pid}/items/a%00b",
    ],
)
def test_ids_that_cannot_be_ids_are_404(client, setup, url):
    r = client.get(url.format(pid=setup["pid"]), headers=_auth(setup["eng"]))
    assert r.status_code == 404, r.get_data(as_text=True)[:300]
    assert r.get_json()["error"]["code"] == "not_found"


def test_members_with_overflowing_or_odd_user_ids_are_404(client, setup):
    for ref in (99999999999999999999, "99999999999999999999", "\u00b9", "a\x00"):
        r = client.post(
            f"/api/v1/projects/{setup['pid']}/members",
            json={"user": ref},
            headers=_auth(setup["eng"]),
        )
        assert r.status_code in (400, 404), (ref, r.get_json())
        assert r.status_code != 500


def test_405_carries_allow(client, setup):
    r = client.delete(f"/api/v1/projects/{setup['pid']}", headers=_auth(setup["eng"]))
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed and "DELETE" not in allowed
    r = client.get(
        f"/api/v1/projects/{setup['pid']}/items/n0/annotations", headers=_auth(setup["eng"])
    )
    assert r.status_code == 405 and "GET" not in r.headers["Allow"]
    assert "POST" in r.headers["Allow"]


@pytest.mark.parametrize("name", ["отзывы", 'say "hi"', "line\nbreak"])
def test_export_downloads_any_project_name(client, setup, name):
    # A newline is refused in new names now; older rows may still hold one.
    db.session.execute(update(Project).where(Project.id == setup["pid"]).values(name=name))
    db.session.commit()
    r = client.get(
        f"/api/v1/projects/{setup['pid']}/export?format=csv", headers=_auth(setup["eng"])
    )
    assert r.status_code == 200
    header = r.headers["Content-Disposition"]
    assert header.isascii() and "\n" not in header
    assert 'filename="' in header and "filename*=UTF-8''" in header
    from urllib.parse import unquote

    assert unquote(header.split("filename*=UTF-8''")[1]) == f"{name}.csv"


def test_service_callers_get_the_same_rules(app, setup):
    """No second copy of the rules: the services validate with the declared models."""
    project = setup["project"]
    for fields in ({"overlap": 10**9}, {"retrain_every": -1}, {"lease_seconds": "abc"}):
        with pytest.raises(BadInput) as exc:
            projects.update_project(project, **fields)
        assert exc.value.details["field"] == next(iter(fields))
    with pytest.raises(BadInput):
        projects.create_project("x", ["a"], overlap=0)
    with pytest.raises(BadInput):
        projects.create_project("x", [None])


def test_settings_form_uses_the_same_rules(app, client, setup):
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"name": "eng", "password": "pw", "csrf_token": token})
    html = client.get(f"/projects/{setup['pid']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    before = _settings(setup["pid"])
    for data in (
        {"strategy": "random", "overlap": "1000"},
        {"strategy": "random", "overlap": "\u00b9"},
        {"strategy": "random", "overlap": "1", "retrain_every": "-1"},
    ):
        r = client.post(
            f"/projects/{setup['pid']}/settings",
            data={"csrf_token": token, **data},
            follow_redirects=True,
        )
        assert r.status_code == 200
        assert "Settings not saved" in r.get_data(as_text=True), data
        assert _settings(setup["pid"]) == before


def test_cli_project_create_uses_the_same_rules(runner, app):
    r = runner.invoke(main, ["project", "create", "p1", "--labels", "a,b", "--overlap", "1000"])
    assert r.exit_code != 0 and "overlap" in r.output
    r = runner.invoke(main, ["project", "create", "123", "--labels", "a,b"])
    assert r.exit_code != 0 and "name" in r.output
    r = runner.invoke(main, ["project", "create", "p1", "--labels", "a, b", "--overlap", "3"])
    assert r.exit_code == 0, r.output
    created = db.session.get(Project, int(r.output.strip().splitlines()[-1]))
    assert created.overlap == 3 and created.label_names == ["a", "b"]


def test_openapi_document_matches_the_declared_limits(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert schemas["NewProject"]["properties"]["overlap"]["maximum"] == 100
    assert schemas["NewProject"]["properties"]["labels"]["minItems"] == 1
    assert schemas["NewProject"]["additionalProperties"] is False
    patch = json.dumps(schemas["ProjectPatch"])
    assert '"maximum": 604800' in patch and '"maximum": 1000000' in patch
