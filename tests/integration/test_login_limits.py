"""Login rate limiting and timing: guessing passwords or user names gets nowhere.

Failed logins are limited per user name and per client address; only failures
count. A miss on an unknown user takes as long as a wrong password.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from labeler.config import load_config
from labeler.extensions import db
from tests.conftest import REDIS_URL, make_app
from tests.integration.test_sessions_and_headers import login


def test_thirty_wrong_passwords_then_the_right_one_is_refused(
    app: Any, client: Any, make_user: Any
) -> None:
    make_user("ann", password="secret-pw")
    statuses = [login(client, "ann", f"guess-{k}").status_code for k in range(30)]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}

    right = login(client, "ann", "secret-pw")
    assert right.status_code == 429
    wait = int(right.headers["Retry-After"])
    assert 0 < wait <= 300
    assert f"Try again in {wait} seconds" in right.get_data(as_text=True)
    with app.app_context():
        assert client.get("/").status_code == 302  # not logged in

    # Other users (and the JSON error shape) are not affected by ann's limit.
    make_user("bob", password="secret-pw")
    assert login(client, "bob", "secret-pw").status_code == 302


def test_per_address_limit_spans_user_names(app: Any, client: Any, make_user: Any) -> None:
    make_user("ann", password="secret-pw")
    statuses = [login(client, f"nobody-{k}", "x").status_code for k in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert login(client, "ann", "secret-pw").status_code == 429


def test_rate_limit_json_error_names_retry(app: Any, client: Any, make_user: Any) -> None:
    make_user("ann", password="secret-pw")
    for k in range(10):
        login(client, "ann", f"guess-{k}")
    with app.app_context():
        from tests.integration.test_pages import csrf_from

        form = {"name": "ann", "password": "secret-pw"}
        form["csrf_token"] = csrf_from(client.get("/login").get_data(as_text=True))
    with app.app_context():
        resp = client.post("/login", data=form, headers={"Accept": "application/json"})
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"]["code"] == "too_many_requests"
    assert body["error"]["details"]["retry_after"] == int(resp.headers["Retry-After"])


def test_unknown_user_takes_as_long_as_a_wrong_password(
    app: Any, client: Any, make_user: Any
) -> None:
    from labeler.services import users

    make_user("ann", password="secret-pw")
    make_user("gone", password="secret-pw")
    users.set_active(users.find_user("gone"), False)
    db.session.commit()

    def cost(name: str) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            assert users.authenticate(name, "wrong-password") is None
            best = min(best, time.perf_counter() - start)
        return best

    cost("ann")  # warm up (the dummy hash is made once)
    wrong, unknown, inactive = cost("ann"), cost("no-such-user"), cost("gone")
    for other in (unknown, inactive):
        assert other > wrong / 2 and wrong > other / 2, (wrong, unknown, inactive)


def test_storage_is_redis_when_the_broker_is(tmp_path: Any, db_url: str) -> None:
    """Every gunicorn worker sees the same counters: a second app (process) still refuses."""
    env = {"LABELER_BROKER_URL": "redis://h:6379/1", "LABELER_DATA_DIR": str(tmp_path)}
    assert load_config(env=env)["RATELIMIT_STORAGE_URI"] == "redis://h:6379/1"
    env["LABELER_RATELIMIT_STORAGE_URL"] = "memory://"
    assert load_config(env=env)["RATELIMIT_STORAGE_URI"] == "memory://"
    assert load_config(env={"LABELER_DATA_DIR": str(tmp_path)})["RATELIMIT_STORAGE_URI"] == (
        "memory://"
    )

    name = f"ann-{uuid.uuid4().hex[:8]}"
    first = make_app(db_url, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL)
    with first.app_context():
        from labeler.services import users

        users.create_user(name, "rater", "secret-pw")
        client = first.test_client()
        assert [login(client, name, "bad").status_code for _ in range(10)] == [401] * 10
        db.session.remove()
        db.engine.dispose()
    second = make_app(db_url, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL)
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    try:
        with second.app_context():
            assert login(second.test_client(), name, "secret-pw").status_code == 429
            db.session.remove()
            db.engine.dispose()
        assert list(conn.scan_iter(f"*login-name:{name}*"))
    finally:
        # This test's counters: its user name, and the test client's address.
        keys = [*conn.scan_iter(f"*login-name:{name}*"), *conn.scan_iter("*/127.0.0.1/auth.login*")]
        if keys:
            conn.delete(*keys)
