"""Logout really ends sessions; cookies and security headers as a careful service sets them.

A cookie captured before logout (the ``session`` cookie, and the year-long
``remember_token`` before this fix) must not work after it, on any device.
"""

from __future__ import annotations

from typing import Any

import pytest

from labeler.services import users
from labeler.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import make_app
from tests.integration.test_pages import csrf_from, page_token


def _fresh_context(app: Any) -> Any:
    from labeler.extensions import db

    db.session.commit()  # SQLite: the test's own transaction would hold the write lock
    return app.app_context()


def login(client: Any, name: str, password: str, remember: bool = False) -> Any:
    app = client.application
    with _fresh_context(app):
        form = {"name": name, "password": password, "remember": "1" if remember else ""}
        form["csrf_token"] = csrf_from(client.get("/login").get_data(as_text=True))
    with _fresh_context(app):
        return client.post("/login", data=form)


def _logout(client: Any) -> None:
    with _fresh_context(client.application):
        token = page_token(client, "/")
    with _fresh_context(client.application):
        out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302


class _Fresh:
    """A client whose every request runs in its own app context.

    The ``app`` fixture keeps one app context open for the whole test, and
    flask-login caches the user on ``g``; a fresh context per request makes the
    cookie, not that cache, decide who the request is.
    """

    def __init__(self, app: Any, client: Any) -> None:
        self.app, self.client = app, client

    def get(self, path: str, **kw: Any) -> Any:
        with _fresh_context(self.app):
            return self.client.get(path, **kw)


def _replay(app: Any, name: str, value: str) -> _Fresh:
    """A fresh browser that holds only the captured cookie ``name``."""
    other = app.test_client()
    other.set_cookie(name, value)
    return _Fresh(app, other)


def test_captured_session_cookie_fails_after_logout(app: Any, client: Any, make_user: Any) -> None:
    make_user("ann", password="secret-pw")
    assert login(client, "ann", "secret-pw").status_code == 302
    captured = client.get_cookie("session").value
    assert _replay(app, "session", captured).get("/").status_code == 200

    _logout(client)
    replay = _replay(app, "session", captured)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/me").status_code == 401


def test_captured_remember_cookie_fails_after_logout(app: Any, client: Any, make_user: Any) -> None:
    make_user("ann", password="secret-pw")
    resp = login(client, "ann", "secret-pw", remember=True)
    assert resp.status_code == 302
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    assert "Secure" not in header  # only in production
    remember = client.get_cookie("remember_token").value
    assert _replay(app, "remember_token", remember).get("/").status_code == 200

    _logout(client)
    replay = _replay(app, "remember_token", remember)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/me").status_code == 401


def test_remember_cookie_lasts_two_weeks(app: Any) -> None:
    assert app.config["REMEMBER_COOKIE_DURATION"].days == 14


def test_password_change_and_deactivation_end_sessions(
    app: Any, client: Any, make_user: Any
) -> None:
    user, token = make_user("ann", password="secret-pw")
    login(client, "ann", "secret-pw")
    captured = client.get_cookie("session").value

    users.set_password(user, "another-pw-1")
    assert _replay(app, "session", captured).get("/").status_code == 302
    assert _Fresh(app, client).get("/").status_code == 302

    login(client, "ann", "another-pw-1")
    captured = client.get_cookie("session").value
    users.set_active(user, False)
    assert _replay(app, "session", captured).get("/").status_code == 302
    headers = {"Authorization": f"Bearer {token}"}
    assert _Fresh(app, app.test_client()).get("/api/v1/me", headers=headers).status_code == 401
    assert login(app.test_client(), "ann", "another-pw-1").status_code == 401

    users.set_active(user, True)
    assert _Fresh(app, app.test_client()).get("/api/v1/me", headers=headers).status_code == 200


def test_logout_gives_back_leases(app: Any, client: Any, make_user: Any) -> None:
    from sqlalchemy import func, select

    from labeler.extensions import db
    from labeler.models import Lease
    from tests.integration.test_pages import make_project

    eng, _ = make_user("eve", "engineer")
    rater, token = make_user("ray", password="secret-pw")
    project = make_project("p", eng, rater)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/projects/{project.id}/next", headers=headers).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Lease)) == 1
    login(client, "ray", "secret-pw")
    _logout(client)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Lease)) == 0


def test_security_headers_on_pages_api_static_and_errors(client: Any) -> None:
    for path in ("/login", "/api/v1/me", "/static/style.css", "/no-such-page"):
        resp = client.get(path)
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in resp.headers
    csp = CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_production_sets_hsts_and_secure_cookies(
    db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELER_ENV", "production")
    monkeypatch.setenv("LABELER_SECRET_KEY", "k" * 40)
    app = make_app(db_url, tmp_path)
    with app.app_context():
        users.create_user("ann", "rater", "secret-pw")
        client = app.test_client()
        assert "max-age=" in client.get("/login").headers["Strict-Transport-Security"]
        https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/"}}
        page = client.get("/login", **https)
        form = {"name": "ann", "password": "secret-pw", "remember": "1"}
        form["csrf_token"] = csrf_from(page.get_data(as_text=True))
        resp = client.post("/login", data=form, **https)
        assert resp.status_code == 302
        cookies = resp.headers.getlist("Set-Cookie")
        for name in ("session=", "remember_token="):
            header = next(h for h in cookies if h.startswith(name))
            assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
        from labeler.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_browser_password_change_keeps_this_session_and_ends_others(
    app: Any, client: Any, make_user: Any
) -> None:
    make_user("ann", password="secret-pw")
    login(client, "ann", "secret-pw")
    other = app.test_client()
    login(other, "ann", "secret-pw")
    with _fresh_context(app):
        html = client.get("/").get_data(as_text=True)
    csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
    body = {"old_password": "secret-pw", "new_password": "brand-new-pw"}
    with _fresh_context(app):
        resp = client.post("/api/v1/me/password", json=body, headers={"X-CSRFToken": csrf})
    assert resp.status_code == 204
    assert _Fresh(app, client).get("/").status_code == 200  # the browser that changed it
    assert _Fresh(app, other).get("/").status_code == 302  # every other session ended

    with _fresh_context(app):
        resp = client.delete("/api/v1/me/sessions", headers={"X-CSRFToken": csrf})
    assert resp.status_code == 204
    assert _Fresh(app, client).get("/").status_code == 302
