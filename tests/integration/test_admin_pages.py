"""/admin, /account and /docs/api with the test client: forms, validation, sessions.

CSRF is on (as in production): every POST carries the token its page rendered.
A refused form comes back with the message next to the field, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from flask import g

from labeler.extensions import db
from labeler.models import Project
from labeler.services import users
from labeler.web.openapi import openapi_document
from tests.factories import gen_project, gen_user
from tests.integration.test_pages import csrf_from, login, page_token


def _forget() -> None:
    for key in ("_login_user", "csrf_token"):
        g.pop(key, None)


class Browser:
    """A test client of its own: the ``app`` fixture keeps one app context (and ``g``,
    where Flask-Login caches the user and Flask-WTF the CSRF token) for the whole test,
    so each request of a second client starts clean."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        _forget()
        return getattr(self.client, name)


def _post(client: Any, page: str, action: str, **form: str) -> Any:
    token = page_token(client, page)
    _forget()
    return client.post(action, data={**form, "csrf_token": token})


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', html)
    assert match, f"no error next to #{field_id}"
    return match.group(1)


def test_admin_creates_users_with_declared_rules(app: Any, client: Any) -> None:
    gen_user("ada", "admin")
    login(client, "ada")
    html = client.get("/admin/").get_data(as_text=True)
    assert 'data-user="ada"' in html
    short = _post(client, "/admin/", "/admin/users", name="bob", role="rater", password="short")
    assert short.status_code == 400
    assert "password" in _field_error(short.get_data(as_text=True), "new-password")
    assert 'value="bob"' in short.get_data(as_text=True)  # the form keeps what was typed
    bad_role = _post(client, "/admin/", "/admin/users", name="bob", role="boss", password="x" * 8)
    assert bad_role.status_code == 400
    assert "role" in _field_error(bad_role.get_data(as_text=True), "new-role")
    bad_name = _post(client, "/admin/", "/admin/users", name="", role="rater", password="x" * 8)
    assert "name" in _field_error(bad_name.get_data(as_text=True), "new-name")
    ok = _post(client, "/admin/", "/admin/users", name="bob", role="sme", password="bob-pass-1")
    assert ok.status_code == 302
    bob = users.find_user("bob")
    assert bob.role == "sme" and users.authenticate("bob", "bob-pass-1") is not None
    dup = _post(client, "/admin/", "/admin/users", name="bob", role="rater", password="x" * 8)
    assert dup.status_code == 400
    assert "already exists" in _field_error(dup.get_data(as_text=True), "new-name")


def test_admin_changes_role_resets_password_deactivates_and_revokes(app: Any, client: Any) -> None:
    gen_user("ada", "admin")
    bob, token = gen_user("bob", "rater", "bob-pass-1")
    bob_client = Browser(app.test_client())
    client = Browser(client)
    login(bob_client, "bob", "bob-pass-1")
    assert bob_client.get("/account").status_code == 200
    login(client, "ada")
    page = f"/admin/users/{bob.id}"
    assert token[:10] in client.get(page).get_data(as_text=True)

    assert _post(client, page, page, role="engineer").status_code == 302
    db.session.refresh(bob)
    assert bob.role == "engineer"
    assert bob_client.get("/account").status_code == 200  # a role change keeps the session

    short = _post(client, page, page, password="short")
    assert short.status_code == 400
    assert "password" in _field_error(short.get_data(as_text=True), "reset-password")
    assert _post(client, page, page, password="new-pass-99").status_code == 302
    assert bob_client.get("/account").status_code == 302  # the reset ended his session
    login(bob_client, "bob", "new-pass-99")

    assert _post(client, page, page, active="maybe").status_code == 400
    assert _post(client, page, page, active="0").status_code == 302
    assert bob_client.get("/account").status_code == 302
    auth = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 401
    assert _post(client, page, page, active="1").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 200

    tid = users.list_tokens(bob)[0].id
    revoke = f"/admin/users/{bob.id}/tokens/{tid}/revoke"
    assert _post(client, page, revoke).status_code == 302
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 401
    assert _post(client, page, revoke).status_code == 404  # already revoked


def test_admins_cannot_lock_themselves_out(app: Any, client: Any) -> None:
    ada, _ = gen_user("ada", "admin")
    login(client, "ada")
    page = f"/admin/users/{ada.id}"
    off = _post(client, page, page, active="0")
    assert off.status_code == 400
    assert "cannot deactivate" in off.get_data(as_text=True)
    assert _post(client, page, page, role="rater").status_code == 400
    db.session.refresh(ada)
    assert ada.active and ada.role == "admin"


def test_account_password_change(app: Any, client: Any) -> None:
    gen_user("cid", "rater", "cid-pass-1")
    other = Browser(app.test_client())
    client = Browser(client)
    login(other, "cid", "cid-pass-1")
    login(client, "cid", "cid-pass-1")
    wrong = _post(
        client, "/account", "/account/password",
        old_password="nope", new_password="cid-pass-2", confirm_password="cid-pass-2",
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "old_password" in _field_error(wrong.get_data(as_text=True), "old-password")
    mismatch = _post(
        client, "/account", "/account/password",
        old_password="cid-pass-1", new_password="cid-pass-2", confirm_password="cid-pass-3",
    )  # fmt: skip
    assert "confirm_password" in _field_error(mismatch.get_data(as_text=True), "confirm-password")
    short = _post(
        client, "/account", "/account/password",
        old_password="cid-pass-1", new_password="short", confirm_password="short",
    )  # fmt: skip
    assert "new_password" in _field_error(short.get_data(as_text=True), "new-password")
    ok = _post(
        client, "/account", "/account/password",
        old_password="cid-pass-1", new_password="cid-pass-2", confirm_password="cid-pass-2",
    )  # fmt: skip
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays logged in
    assert other.get("/account").status_code == 302  # the other session ended
    assert users.authenticate("cid", "cid-pass-2") is not None


def test_account_tokens_are_shown_once_and_revocable(app: Any, client: Any) -> None:
    gen_user("dee", "rater", "pw")
    login(client, "dee")
    created = _post(client, "/account", "/account/tokens", name="laptop")
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    token = re.search(r'id="token-value"[^>]*value="(lbl_[^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert "shown only once" in html
    assert "lbl_" not in (
        client.get_cookie("session").value if client.get_cookie("session") else ""
    )
    auth = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 200
    later = client.get("/account").get_data(as_text=True)
    assert token not in later and token[:10] in later and "laptop" in later
    too_long = _post(client, "/account", "/account/tokens", name="x" * 81)
    assert too_long.status_code == 400
    assert "name" in _field_error(too_long.get_data(as_text=True), "token-name")
    (tid,) = [t.id for t in users.list_tokens(users.find_user("dee")) if t.name == "laptop"]
    assert f'data-token-id="{tid}"' in later
    assert _post(client, "/account", f"/account/tokens/{tid}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=auth).status_code == 401
    # Nobody revokes another user's token through their own account page.
    eve, eve_token = gen_user("eve", "rater")
    eve_tid = users.list_tokens(eve)[0].id
    assert _post(client, "/account", f"/account/tokens/{eve_tid}/revoke").status_code == 404
    eve_auth = {"Authorization": f"Bearer {eve_token}"}
    assert app.test_client().get("/api/v1/me", headers=eve_auth).status_code == 200


def test_forms_without_csrf_are_refused(app: Any, client: Any) -> None:
    gen_user("ada", "admin")
    login(client, "ada")
    for path in ("/admin/users", "/account/tokens", "/account/password", "/admin/projects/new"):
        assert client.post(path, data={"name": "x"}).status_code == 400, path


def test_new_project_form(app: Any, client: Any) -> None:
    gen_user("eng", "engineer")
    login(client, "eng")
    page = "/admin/projects/new"
    form = {"name": "reviews", "labels": "pos\r\nneg\r\n\r\nneutral", "kind": "text",
            "overlap": "2", "strategy": "margin", "instructions": "Read *all*."}  # fmt: skip
    for field, value, field_id in [
        ("labels", "", "p-labels"),
        ("labels", "a\na", "p-labels"),
        ("overlap", "abc", "p-overlap"),
        ("overlap", "0", "p-overlap"),
        ("kind", "video", "p-kind"),
        ("strategy", "psychic", "p-strategy"),
        ("name", "123", "p-name"),
        ("instructions", "bad\x00", "p-instructions"),
    ]:
        refused = _post(client, page, page, **{**form, field: value})
        assert refused.status_code == 400, (field, value)
        assert field in _field_error(refused.get_data(as_text=True), field_id), (field, value)
    created = _post(client, page, page, **form)
    assert created.status_code == 302
    project = db.session.query(Project).filter_by(name="reviews").one()
    assert [(lb.name, lb.hotkey) for lb in project.labels] == [
        ("pos", "1"), ("neg", "2"), ("neutral", "3")
    ]  # fmt: skip
    assert (project.overlap, project.strategy, project.instructions) == (2, "margin", "Read *all*.")
    assert created.headers["Location"].endswith(f"/projects/{project.id}")
    listed = client.get("/admin/projects").get_data(as_text=True)
    assert 'data-project="reviews"' in listed and "Manage" in listed
    assert _post(client, page, page, **form).status_code == 400  # the name is taken


def test_projects_list_for_an_sme_has_exports_only(app: Any, client: Any) -> None:
    sme, _ = gen_user("sam", "sme")
    gen_project("shared", items=2, members=[sme])
    gen_project("private", items=2)
    login(client, "sam")
    html = client.get("/admin/projects").get_data(as_text=True)
    assert 'data-project="shared"' in html and 'data-project="private"' not in html
    assert "/export?format=jsonl" in html and "Manage" not in html and "New project" not in html
    nav = client.get("/").get_data(as_text=True)
    assert ">Exports</a>" in nav and ">Users</a>" not in nav


def test_api_docs_page_lists_every_operation_and_schema(app: Any, client: Any) -> None:
    html = client.get("/docs/api").get_data(as_text=True)
    doc = openapi_document()
    for path, methods in doc["paths"].items():
        for method in methods:
            assert f'>{method.upper()}</span> <code class="path">{path}</code>' in html
    for name in doc["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "<script" not in html and "style=" not in html
    assert "min length 8" in html  # the bounds of optional fields are shown too


def test_names_are_escaped_on_admin_pages(app: Any, client: Any) -> None:
    gen_user("ada", "admin")
    evil, _ = gen_user("<img src=x onerror=alert(1)>", "rater")
    login(client, "ada")
    for path in ("/admin/", f"/admin/users/{evil.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html and "&lt;img src=x" in html, path
    assert csrf_from(client.get("/admin/").get_data(as_text=True))
