"""Accounts: list and revoke tokens, deactivate users, change passwords (CLI and API)."""

from __future__ import annotations

from typing import Any

from labeler.cli import main
from labeler.services import users


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- CLI
def test_cli_tokens_revoke_deactivate_activate(runner: Any, client: Any) -> None:
    created = runner.invoke(main, ["user", "create", "ana", "--role", "engineer", "--token"])
    assert created.exit_code == 0, created.output
    first = created.output.strip().splitlines()[-1]
    second = runner.invoke(main, ["user", "token", "ana"]).output.strip()

    listed = runner.invoke(main, ["user", "tokens", "ana"])
    assert listed.exit_code == 0, listed.output
    rows = listed.output.strip().splitlines()[1:]
    assert len(rows) == 2
    assert first not in listed.output and second not in listed.output  # never the token
    first_id, first_prefix = rows[0].split("\t")[:2]
    assert first.startswith(first_prefix)

    revoked = runner.invoke(main, ["user", "revoke-token", "ana", first_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    again = runner.invoke(main, ["user", "revoke-token", "ana", first_id])
    assert again.exit_code != 0 and "no token" in again.output

    by_prefix = runner.invoke(main, ["user", "revoke-token", "ana", second[:10]])
    assert by_prefix.exit_code == 0, by_prefix.output
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    assert len(runner.invoke(main, ["user", "tokens", "ana"]).output.strip().splitlines()) == 1

    third = runner.invoke(main, ["user", "token", "ana"]).output.strip()
    assert runner.invoke(main, ["user", "deactivate", "ana"]).exit_code == 0
    assert client.get("/api/v1/me", headers=bearer(third)).status_code == 401
    assert runner.invoke(main, ["user", "activate", "ana"]).exit_code == 0
    assert client.get("/api/v1/me", headers=bearer(third)).status_code == 200


def test_cli_set_password_enforces_length_and_works(runner: Any) -> None:
    runner.invoke(main, ["user", "create", "ana"])
    short = runner.invoke(main, ["user", "set-password", "ana", "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
    ok = runner.invoke(main, ["user", "set-password", "ana", "--password", "long-enough"])
    assert ok.exit_code == 0, ok.output
    assert users.authenticate("ana", "long-enough") is not None
    prompted = runner.invoke(main, ["user", "set-password", "ana"], input="prompted-pw\n" * 2)
    assert prompted.exit_code == 0, prompted.output
    assert users.authenticate("ana", "prompted-pw") is not None
    weak = runner.invoke(main, ["user", "create", "bob", "--password", "pw"])
    assert weak.exit_code != 0 and "at least 8" in weak.output


# ---------------------------------------------------------------- API: me
def test_api_my_tokens_list_create_revoke(client: Any, make_user: Any) -> None:
    ann, token = make_user("ann")
    _, other = make_user("bob")
    listed = client.get("/api/v1/me/tokens", headers=bearer(token)).get_json()["tokens"]
    assert len(listed) == 1
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at"}

    made = client.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=bearer(token))
    assert made.status_code == 201
    body = made.get_json()
    assert body["name"] == "laptop" and body["token"].startswith(body["prefix"])
    new = body["token"]
    assert client.get("/api/v1/me", headers=bearer(new)).get_json()["name"] == "ann"

    bad = client.post("/api/v1/me/tokens", json={"name": 5}, headers=bearer(token))
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "name"

    bob_tokens = client.get("/api/v1/me/tokens", headers=bearer(other)).get_json()["tokens"]
    foreign = client.delete(f"/api/v1/me/tokens/{bob_tokens[0]['id']}", headers=bearer(token))
    assert foreign.status_code == 404
    for junk in ("abc", "99999999999999999999", "%C2%B9"):
        assert client.delete(f"/api/v1/me/tokens/{junk}", headers=bearer(token)).status_code == 404

    gone = client.delete(f"/api/v1/me/tokens/{body['id']}", headers=bearer(token))
    assert gone.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(new)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200


def test_api_change_password(client: Any, make_user: Any) -> None:
    _, token = make_user("ann", password="old-password")
    url, h = "/api/v1/me/password", bearer(token)
    wrong = client.post(
        url, json={"old_password": "nope", "new_password": "new-password"}, headers=h
    )
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["details"]["field"] == "old_password"
    short = client.post(url, json={"old_password": "old-password", "new_password": "x"}, headers=h)
    assert short.status_code == 400
    assert short.get_json()["error"]["details"]["field"] == "new_password"
    missing = client.post(url, json={"old_password": "old-password"}, headers=h)
    assert missing.get_json()["error"]["details"]["field"] == "new_password"
    ok = client.post(
        url, json={"old_password": "old-password", "new_password": "new-password"}, headers=h
    )
    assert ok.status_code == 204
    assert users.authenticate("ann", "new-password") is not None
    assert users.authenticate("ann", "old-password") is None


# ---------------------------------------------------------------- API: admins
def test_api_users_admin_only(client: Any, make_user: Any) -> None:
    _, admin = make_user("root", "admin")
    _, eng = make_user("eve", "engineer")
    assert client.get("/api/v1/users", headers=bearer(eng)).status_code == 403
    assert client.post("/api/v1/users", json={"name": "x"}, headers=bearer(eng)).status_code == 403

    made = client.post(
        "/api/v1/users",
        json={"name": "ray", "role": "rater", "password": "long-enough"},
        headers=bearer(admin),
    )
    assert made.status_code == 201
    ray = made.get_json()
    assert ray["name"] == "ray" and ray["active"] is True and "password_hash" not in ray
    names = [
        u["name"] for u in client.get("/api/v1/users", headers=bearer(admin)).get_json()["users"]
    ]
    assert names == ["root", "eve", "ray"]

    for body, field in (
        ({"name": "zed", "role": "boss"}, "role"),
        ({"name": "zed", "password": "short"}, "password"),
        ({"name": ""}, "name"),
        ({"name": "zed", "extra": 1}, "extra"),
    ):
        resp = client.post("/api/v1/users", json=body, headers=bearer(admin))
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["details"]["field"] == field
    dup = client.post("/api/v1/users", json={"name": "ray"}, headers=bearer(admin))
    assert dup.status_code == 409


def test_api_patch_user_deactivates_role_and_password(client: Any, make_user: Any) -> None:
    root, admin = make_user("root", "admin")
    ray, ray_token = make_user("ray", password="ray-password")
    url = f"/api/v1/users/{ray.id}"
    off = client.patch(url, json={"active": False}, headers=bearer(admin))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=bearer(ray_token)).status_code == 401
    assert users.authenticate("ray", "ray-password") is None

    on = client.patch(url, json={"active": True, "role": "sme"}, headers=bearer(admin))
    assert on.get_json() | {"created_at": None} == {
        "id": ray.id, "name": "ray", "role": "sme", "active": True, "created_at": None
    }  # fmt: skip
    reset = client.patch(url, json={"password": "reset-by-admin"}, headers=bearer(admin))
    assert reset.status_code == 200
    assert users.authenticate("ray", "reset-by-admin") is not None

    for body, field in (
        ({"active": "no"}, "active"),
        ({"role": "boss"}, "role"),
        ({"password": "short"}, "password"),
        ({"active": None}, None),  # null leaves it unchanged, as in every PATCH: nothing to do
    ):
        resp = client.patch(url, json=body, headers=bearer(admin))
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["details"]["field"] == field
    assert client.patch(url, json={}, headers=bearer(admin)).status_code == 400
    assert client.patch(url, data="[", headers=bearer(admin)).status_code == 400
    myself = client.patch(f"/api/v1/users/{root.id}", json={"active": False}, headers=bearer(admin))
    assert myself.status_code == 400
    assert (
        client.patch(
            "/api/v1/users/424242", json={"active": True}, headers=bearer(admin)
        ).status_code
        == 404
    )
    assert (
        client.patch("/api/v1/users/abc", json={"active": True}, headers=bearer(admin)).status_code
        == 404
    )
