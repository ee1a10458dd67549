"""The README's roles table is what the app does: one row per action, one column per role.

The table is read from README.md; for each role a logged-in browser session
calls each action's page and API route. "yes" must answer the route's success
status, "no" a 403. So the table and the code cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labeler.models import Project, User
from tests.factories import gen_project, gen_user
from tests.integration.test_pages import login

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = ("admin", "engineer", "sme", "rater")
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def roles_table() -> dict[str, dict[str, bool]]:
    """{action: {role: allowed}} from the README's table under '## Roles'."""
    text = README.read_text()
    section = text.split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["action", *ROLES], header
    out: dict[str, dict[str, bool]] = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        action = cells[0].split(" (")[0]
        assert all(c in ("yes", "no") for c in cells[1:]), line
        out[action] = {role: cell == "yes" for role, cell in zip(ROLES, cells[1:], strict=True)}
    return out


@dataclass(frozen=True)
class Probe:
    method: str
    path: str  # {pid} and {role} are filled in
    ok: tuple[int, ...]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


# The routes each action of the table stands for: a page and the API.
PROBES: dict[str, list[Probe]] = {
    "label": [
        Probe("GET", "/projects/{pid}/label", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/next", (200,)),
    ],
    "own account: password, API tokens": [
        Probe("GET", "/account", (200,)),
        Probe("GET", "/api/v1/me/tokens", (200,)),
        Probe("POST", "/account/tokens", (201,), form={"name": "probe"}),
    ],
    "see API docs": [Probe("GET", "/docs/api", (200,))],
    "export": [
        Probe("GET", "/admin/projects", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/export?format=jsonl", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/export?format=csv", (200,)),
    ],
    "see project page": [Probe("GET", "/projects/{pid}", (200,))],
    "agreement report": [Probe("GET", "/api/v1/projects/{pid}/agreement", (200,))],
    "change settings": [
        Probe("PATCH", "/api/v1/projects/{pid}", (200,), json={"overlap": 2}),
        # The settings form (another page's): the role gate comes before the form.
        Probe("POST", "/projects/{pid}/settings", (302, 400), form={"overlap": "2"}),
    ],
    "import": [
        Probe(
            "POST", "/api/v1/projects/{pid}/items", (201,), json=[{"id": "n-{role}", "text": "x"}]
        ),
    ],
    "run AL round": [
        Probe("POST", "/api/v1/projects/{pid}/al/run", (202,)),
        Probe("POST", "/projects/{pid}/al/run", (302,)),
    ],
    "manage members": [
        Probe("POST", "/api/v1/projects/{pid}/members", (200, 201), json={"user": "outsider"}),
    ],
    "create projects": [
        Probe("GET", "/admin/projects/new", (200,)),
        Probe(
            "POST",
            "/admin/projects/new",
            (302,),
            form={
                "name": "ui-{role}",
                "labels": "a\nb",
                "overlap": "1",
                "kind": "text",
                "strategy": "random",
            },
        ),
        Probe(
            "POST", "/api/v1/projects", (201,), json={"name": "api-{role}", "labels": ["a", "b"]}
        ),
    ],
    "manage users": [
        Probe("GET", "/admin/", (200,)),
        Probe("GET", "/admin/users/{uid}", (200,)),
        Probe(
            "POST",
            "/admin/users",
            (302,),
            form={"name": "new-{role}", "role": "rater", "password": "long-enough-1"},
        ),
        Probe("GET", "/api/v1/users", (200,)),
    ],
    "write labeling functions": [
        Probe("GET", "/projects/{pid}/lfs", (200,)),
        Probe(
            "POST",
            "/api/v1/projects/{pid}/lfs",
            (201,),
            json={"kind": "keyword", "name": "lf-{role}", "label": "pos", "words": ["t1"]},
        ),
        Probe(
            "POST",
            "/api/v1/projects/{pid}/lfs/preview",
            (200,),
            json={"spec": {"kind": "regex", "name": "p", "label": "neg", "pattern": "t[0-9]"}},
        ),
        Probe("PATCH", "/api/v1/projects/{pid}/lfs/lf-{role}", (200,), json={"active": False}),
    ],
    "see LF stats and suggestions": [
        Probe("GET", "/api/v1/projects/{pid}/lfs", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/lfs/stats", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/lfs/suggestions", (200,)),
    ],
    "run weak supervision": [
        Probe("POST", "/api/v1/projects/{pid}/weak/fit", (202,), json={"method": "majority"}),
        Probe("POST", "/api/v1/projects/{pid}/propagate", (202,), json={}),
    ],
    "adjudicate": [
        Probe("GET", "/projects/{pid}/adjudicate", (200,)),
        Probe("GET", "/api/v1/projects/{pid}/adjudication", (200,)),
        Probe(
            "POST", "/api/v1/projects/{pid}/items/i0/adjudication", (201,), json={"label": "pos"}
        ),
    ],
}


def test_every_action_of_the_table_is_probed() -> None:
    assert set(roles_table()) == set(PROBES)


def _fill(text: str, role: str, pid: int, uid: int) -> str:
    return text.replace("{pid}", str(pid)).replace("{role}", role).replace("{uid}", str(uid))


def _call(client: Any, probe: Probe, role: str, pid: int, uid: int, csrf: str) -> Any:
    path = _fill(probe.path, role, pid, uid)
    if probe.json is not None:
        import json

        body = json.loads(_fill(json.dumps(probe.json), role, pid, uid))
        return client.open(path, method=probe.method, json=body, headers={"X-CSRFToken": csrf})
    if probe.method == "GET":
        return client.get(path)
    data = {k: _fill(v, role, pid, uid) for k, v in probe.form.items()}
    headers = {"X-CSRFToken": csrf} if path.startswith("/api/") else {}
    return client.open(
        path, method=probe.method, data={**data, "csrf_token": csrf}, headers=headers
    )


def _setup() -> tuple[Project, dict[str, User]]:
    people = {role: gen_user(f"{role}-1", role, "pw")[0] for role in ROLES}
    gen_user("outsider", "rater", "pw")
    project = gen_project("roles", items=5, members=[people[r] for r in ROLES if r != "admin"])
    return project, people


@pytest.mark.parametrize("role", ROLES)
def test_roles_table_matches_the_routes(app: Any, client: Any, role: str) -> None:
    table = roles_table()
    project, people = _setup()
    pid, uid = project.id, people["rater"].id
    assert login(client, f"{role}-1").status_code == 302
    csrf = META_CSRF.search(client.get("/account").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    wrong = []
    for action, probes in PROBES.items():
        allowed = table[action][role]
        for probe in probes:
            status = _call(client, probe, role, pid, uid, csrf).status_code
            if (status in probe.ok) if allowed else (status == 403):
                continue
            wanted = probe.ok if allowed else 403
            wrong.append(f"{action}: {probe.method} {probe.path} -> {status}, table says {wanted}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_anonymous_users_are_sent_to_log_in(app: Any, client: Any) -> None:
    project, people = _setup()
    for probes in PROBES.values():
        for probe in probes:
            if probe.path == "/docs/api":
                assert client.get(probe.path).status_code == 200  # public, like openapi.json
                continue
            status = _call(client, probe, "anon", project.id, people["rater"].id, "").status_code
            if probe.path.startswith("/api/"):
                assert status == 401, (probe, status)
            else:
                # Pages redirect to the login page; form posts without a session fail CSRF first.
                assert status in ((302,) if probe.method == "GET" else (302, 400)), (probe, status)


def test_project_actions_are_404_to_non_members(app: Any, client: Any) -> None:
    project, _ = _setup()
    gen_user("sme-2", "sme", "pw")
    assert login(client, "sme-2").status_code == 302
    assert client.get(f"/api/v1/projects/{project.id}/export?format=jsonl").status_code == 404
    assert client.get(f"/projects/{project.id}/label").status_code == 404
    assert "roles" not in client.get("/admin/projects").get_data(as_text=True)


def test_project_cards_offer_export_and_items_to_the_roles_that_may(
    client: Any, make_user: Any
) -> None:
    from labeler.services import projects

    owner, _ = make_user("own", "engineer")
    project = projects.create_project("cards", ["a", "b"], created_by=owner)
    for name, role, offered in (("s1", "sme", True), ("r1", "rater", False)):
        user, _ = make_user(name, role)
        projects.add_member(project, user)
        client.get("/logout")
        page = client.get("/login")
        token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
        client.post("/login", data={"name": name, "password": "pw", "csrf_token": token})
        html = client.get("/").get_data(as_text=True)
        export = f"/api/v1/projects/{project.id}/export?format=csv"
        assert (export in html) is offered, role
        assert (f"/projects/{project.id}/items" in html) is offered, role
        if offered:
            assert client.get(export).status_code == 200
        client.post("/logout", data={"csrf_token": token})
