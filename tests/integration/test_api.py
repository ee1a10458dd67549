"""REST API v1 through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, insert, select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services import projects


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
    return {"project": project, "eng": eng_token, "rater": rater_token, "rater_user": rater}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_describes_every_route(client, app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path = _openapi_path(rule.rule)
            assert (path, method) in documented, f"{method} {path} is not in openapi.json"


def test_each_route_is_one_resource_with_one_allow(app):
    """A path converter that takes slashes (item ids) or any name (LF refs) must not also
    claim a route beside it: then ``Allow`` would advertise the other route's methods
    (schemathesis' ST205). Every API route, filled in, matches only itself."""
    values = {"pid": "1", "iid": "x1", "lf": "kw", "ref": "kw"}
    adapter = app.url_map.bind("localhost")
    by_path: dict[str, set[str]] = {}
    urls = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        url = re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", lambda m: values.get(m.group(2), "7"), rule.rule)
        urls[rule.rule] = url
        by_path.setdefault(url, set()).update(rule.methods)
    for rule in app.url_map.iter_rules():
        if rule.rule not in urls:
            continue
        url = urls[rule.rule]
        assert set(adapter.allowed_methods(url)) == by_path[url], rule.rule
        for method in rule.methods - {"OPTIONS"}:
            endpoint, _ = adapter.match(url, method=method)
            assert endpoint == rule.endpoint, (rule.rule, method, endpoint)


def test_openapi_body_models_are_the_ones_the_views_validate_with(client, app, setup, make_user):
    """The document's request body is the model the view validates with, not a copy."""
    doc = client.get("/api/v1/openapi.json").get_json()
    components = doc["components"]["schemas"]
    admin, admin_token = make_user("root", "admin")
    ids = {
        "pid": str(setup["project"].id),
        "iid": "n0",
        "job_id": "1",
        "user_id": str(admin.id),
        "token_id": "1",
        "lf": "kw",
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        op = app.view_functions[rule.endpoint].operation
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            entry = doc["paths"][_openapi_path(rule.rule)][method.lower()]
            if op.body is None:
                assert "application/json" not in entry.get("requestBody", {}).get("content", {})
                continue
            ref = entry["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{op.body.__name__}"
            # A union body (an LF spec: one of several kinds) has no "type", only "oneOf".
            kind = components[op.body.__name__].get("type")
            assert kind == op.body.model_json_schema().get("type")
            # The view refuses what its declared model refuses, naming the field.
            url = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], _openapi_path(rule.rule))
            r = client.open(url, method=method, json={"__bogus__": 1}, headers=_auth(admin_token))
            assert r.status_code == 400, (method, url, r.get_json())
            details = r.get_json()["error"]["details"]
            if kind == "object":
                fields = [e["field"] for e in details["errors"]]
                assert "__bogus__" in fields, (method, url, details)
            checked += 1
    assert checked >= 4
    # Every status a route can answer is documented, and every route names its errors.
    for path, ops in doc["paths"].items():
        for method, entry in ops.items():
            if path != "/api/v1/openapi.json":
                assert "401" in entry["responses"], (method, path)
            if "{" in path:
                assert "404" in entry["responses"], (method, path)


def test_token_required_and_errors_are_json(client, setup):
    r = client.get("/api/v1/projects")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/projects", headers=_auth("lbl_not-a-token"))
    assert r.status_code == 401
    r = client.get("/api/v1/projects/nope", headers=_auth(setup["eng"]))
    assert r.status_code == 404
    assert set(r.get_json()["error"]) == {"code", "message", "details"}


def test_create_project_needs_engineer(client, setup):
    body = {"name": "x", "labels": ["a", "b"], "overlap": 3}
    r = client.post("/api/v1/projects", json=body, headers=_auth(setup["rater"]))
    assert r.status_code == 403
    r = client.post("/api/v1/projects", json=body, headers=_auth(setup["eng"]))
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["overlap"] == 3 and [lb["hotkey"] for lb in created["labels"]] == ["1", "2"]
    r = client.post("/api/v1/projects", json=body, headers=_auth(setup["eng"]))
    assert r.status_code == 409
    r = client.post(
        "/api/v1/projects", json={"name": "y", "labels": []}, headers=_auth(setup["eng"])
    )
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "labels"


def test_next_annotate_cycle(client, setup):
    pid, tok = setup["project"].id, setup["rater"]
    r = client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
    assert r.status_code == 200
    first = r.get_json()
    assert first["item"]["id"] == "n0" and first["lease_expires_at"]
    # Asking again returns the same leased item.
    assert (
        client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok)).get_json()["item"]["id"]
        == "n0"
    )
    r = client.post(
        f"/api/v1/projects/{pid}/items/n0/annotations",
        json={"label": "sport", "duration_ms": 1200},
        headers=_auth(tok),
    )
    assert r.status_code == 201 and r.get_json()["label"] == "sport"
    seen = ["n0"]
    while (r := client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))).status_code == 200:
        iid = r.get_json()["item"]["id"]
        seen.append(iid)
        client.post(
            f"/api/v1/projects/{pid}/items/{iid}/annotations",
            json={"label": "politics"},
            headers=_auth(tok),
        )
    assert r.status_code == 204 and sorted(seen) == ["n0", "n1", "n2"]
    progress = client.get(f"/api/v1/projects/{pid}/progress", headers=_auth(tok)).get_json()
    assert (
        progress["mine"] == 3
        and progress["n_annotations"] == 3
        and progress["target_annotations"] == 6
    )


def test_label_outside_the_set_is_400_and_stores_nothing(client, setup):
    pid, tok = setup["project"].id, setup["rater"]
    client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
    r = client.post(
        f"/api/v1/projects/{pid}/items/n0/annotations",
        json={"label": "weather"},
        headers=_auth(tok),
    )
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["details"]["field"] == "label" and "weather" in err["message"]
    assert db.session.scalar(select(func.count(Annotation.id))) == 0
    r = client.post(
        f"/api/v1/projects/{pid}/items/n0/annotations", data="not json", headers=_auth(tok)
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/projects/{pid}/items/zzz/annotations", json={"label": "sport"}, headers=_auth(tok)
    )
    assert r.status_code == 404


def test_rater_cannot_reach_another_projects_items(client, setup, make_user):
    other = projects.create_project("secret", ["a", "b"])
    db.session.add(Item(project_id=other.id, external_id="s1", data={"text": "hidden"}))
    db.session.commit()
    tok = setup["rater"]
    for url in (
        f"/api/v1/projects/{other.id}/next",
        f"/api/v1/projects/{other.id}",
        f"/api/v1/projects/{other.id}/items/s1",
        "/api/v1/projects/secret/next",
    ):
        r = client.get(url, headers=_auth(tok))
        assert r.status_code == 404, url
    r = client.post(
        f"/api/v1/projects/{other.id}/items/s1/annotations", json={"label": "a"}, headers=_auth(tok)
    )
    assert r.status_code == 404
    names = [
        p["name"] for p in client.get("/api/v1/projects", headers=_auth(tok)).get_json()["projects"]
    ]
    assert names == ["news"]


def test_undo_over_api(client, setup):
    pid, tok = setup["project"].id, setup["rater"]
    client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
    client.post(
        f"/api/v1/projects/{pid}/items/n0/annotations", json={"label": "sport"}, headers=_auth(tok)
    )
    r = client.post(f"/api/v1/projects/{pid}/undo", headers=_auth(tok))
    assert r.status_code == 200 and r.get_json()["item"]["id"] == "n0"
    r = client.post(f"/api/v1/projects/{pid}/undo", headers=_auth(tok))
    assert r.status_code == 404


def test_session_clients_need_csrf(app, setup):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert token, "login form has a CSRF token"
    r = client.post("/login", data={"name": "rita", "password": "pw", "csrf_token": token.group(1)})
    assert r.status_code == 302
    pid = setup["project"].id
    assert client.get(f"/api/v1/projects/{pid}/next").status_code == 200
    r = client.post(f"/api/v1/projects/{pid}/items/n0/annotations", json={"label": "sport"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf"
    r = client.post(
        f"/api/v1/projects/{pid}/items/n0/annotations",
        json={"label": "sport"},
        headers={"X-CSRFToken": token.group(1)},
    )
    assert r.status_code == 201


def test_export_streams_jsonl(client, setup, make_user):
    pid = setup["project"].id
    other, other_tok = make_user("omar", "rater")
    projects.add_member(setup["project"], other)
    for tok, label in ((setup["rater"], "sport"), (other_tok, "sport")):
        client.get(f"/api/v1/projects/{pid}/next", headers=_auth(tok))
        client.post(
            f"/api/v1/projects/{pid}/items/n0/annotations",
            json={"label": label},
            headers=_auth(tok),
        )
    assert (
        client.get(f"/api/v1/projects/{pid}/export", headers=_auth(setup["rater"])).status_code
        == 403
    )
    r = client.get(f"/api/v1/projects/{pid}/export?format=jsonl", headers=_auth(setup["eng"]))
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert [row["id"] for row in rows] == ["n0", "n1", "n2"]
    first = rows[0]
    assert first["label"] == "sport" and first["source"] == "human" and first["confidence"] == 1.0
    assert sorted(a["rater"] for a in first["annotations"]) == ["omar", "rita"]
    assert all(a["created_at"] for a in first["annotations"])
    assert rows[1]["label"] is None and rows[1]["source"] is None and rows[1]["annotations"] == []
    r = client.get(f"/api/v1/projects/{pid}/export?format=xml", headers=_auth(setup["eng"]))
    assert r.status_code == 400


def test_oversized_upload_is_413_and_imports_nothing(app, client, setup):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    big = b"".join(b'{"id": "b%d", "text": "%s"}\n' % (k, b"x" * 80) for k in range(200))
    r = client.post(
        f"/api/v1/projects/{setup['project'].id}/items",
        data={"file": (io.BytesIO(big), "big.jsonl")},
        headers=_auth(setup["eng"]),
    )
    assert r.status_code == 413
    err = r.get_json()["error"]
    assert err["code"] == "too_large" and "10000" in err["message"]
    assert db.session.scalar(select(func.count(Item.id))) == 3


def test_file_upload_with_bad_rows_names_lines(client, setup):
    bad = b'{"id": "a1", "text": "fine"}\nnot json\n{"id": "a3"}\n'
    r = client.post(
        f"/api/v1/projects/{setup['project'].id}/items",
        data={"file": (io.BytesIO(bad), "bad.jsonl")},
        headers=_auth(setup["eng"]),
    )
    assert r.status_code == 400
    errors = r.get_json()["error"]["details"]["errors"]
    assert [e["line"] for e in errors] == [2, 3]
    assert errors[1]["field"] == "text"
    assert db.session.scalar(select(func.count(Item.id))) == 3
