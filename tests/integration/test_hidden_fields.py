"""What a rater receives is shown data only: no gold answer, no weak-label vote.

Two projects with the same labels and the same items: ``evaluated`` gets gold
answers and weak-label votes (a WRENCH file and a JSONL file with ``_gold``),
``plain`` gets none. A rater walks every route of the app's url_map on both (a
route added later is walked too) and each response of ``evaluated`` must name
each label exactly as often as the same response of ``plain``: a gold answer
leaking into an item, a page or an embedded script shows up as an extra
occurrence. No response may carry a hidden key either.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import GoldLabel, Item
from labeler.services import gold, importing, projects
from labeler.services.weak import model as weak_model
from labeler.services.weak import votes
from tests.integration.test_pages import login

# Distinctive label names, so that a count of them means something.
LABELS = ["zqxgoldyes", "zqxgoldno", "zqxgoldmaybe"]
# Hidden keys as data carries them (``_gold``, ``_gold_label``, ``_weak_labels``, WRENCH's
# ``weak_labels``): not inside a longer word, so settings such as ``train_on_weak`` or a
# round's ``n_weak_labels`` (names, not data) do not count, while every hidden key does.
HIDDEN_KEYS = re.compile(
    r"(?<![a-z0-9])(?:_gold|_weak)|gold_label|(?<![a-z0-9_])weak_labels|wrench_", re.IGNORECASE
)
WRENCH = {
    str(k): {
        "label": k % 3,
        "weak_labels": [k % 3, -1, (k + 1) % 3],
        "data": {"text": f"wrench item {k}"},
    }
    for k in range(4)
}
JSONL = [{"id": f"j{k}", "text": f"jsonl item {k}", "_gold": LABELS[k % 3]} for k in range(4)]


def _without_hidden(wrench: dict[str, Any], records: list[dict[str, Any]]) -> tuple[Any, Any]:
    plain_wrench = {k: {"data": v["data"]} for k, v in wrench.items()}
    plain_records = [{k: v for k, v in r.items() if k != "_gold"} for r in records]
    return plain_wrench, plain_records


def _setup(make_user: Any) -> tuple[Any, str, dict[str, int]]:
    rater, token = make_user("rita", "rater", "pw")
    ids = {}
    plain_wrench, plain_records = _without_hidden(WRENCH, JSONL)
    for name, wrench, records in (
        ("evaluated", WRENCH, JSONL),
        ("plain", plain_wrench, plain_records),
    ):
        project = projects.create_project(name, LABELS, overlap=2)
        projects.add_member(project, rater)
        importing.import_file(project, io.BytesIO(json.dumps(wrench).encode()), "wrench")
        jsonl = "".join(json.dumps(r) + "\n" for r in records).encode()
        importing.import_file(project, io.BytesIO(jsonl), "jsonl")
        if name == "evaluated":
            # Two of them are gold items too (served at gold_rate 0 here, so both walks
            # meet the same items): nothing a rater reads may tell them apart.
            for record in JSONL[:2]:
                gold.mark(project, record["id"], record["_gold"])
        ids[name] = project.id
    # The label model's output is weak-supervision data too: it must not reach a rater.
    fitted = weak_model.fit(projects.find_project(ids["evaluated"]), "majority")
    assert fitted.status == "done" and fitted.metrics["n_covered"] > 0
    return rater, token, ids


def _fill(rule: Any, pid: int, iid: str) -> str | None:
    path = rule.rule
    for arg in rule.arguments:
        value = {"pid": str(pid), "iid": iid, "job_id": "1", "lf": "wrench_0"}.get(arg)
        if value is None:
            return None  # walked separately (static files)
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


def _walk(app: Any, client: Any, token: str, pid: int) -> dict[str, str]:
    """Every reachable (method, path) for a rater, in a fixed order -> response text."""
    auth = {"Authorization": f"Bearer {token}"}
    seen: dict[str, str] = {}

    def call(method: str, path: str, body: Any = None) -> None:
        headers = auth if path.startswith("/api/") else {}
        response = client.open(path, method=method, headers=headers, json=body)
        key = f"{len(seen):03d} {method} {path.replace(f'/projects/{pid}', '/projects/<pid>')}"
        seen[key] = f"{response.status_code}\n" + response.get_data(as_text=True)

    # The labeling flow first: next, annotate, undo, next again.
    call("GET", f"/api/v1/projects/{pid}/next")
    first = json.loads(seen[max(seen)].split("\n", 1)[1])["item"]["id"]
    call("POST", f"/api/v1/projects/{pid}/items/{first}/annotations", {"label": LABELS[0]})
    call("POST", f"/api/v1/projects/{pid}/undo")
    call("GET", f"/api/v1/projects/{pid}/next")
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods)))
    for iid in [*WRENCH, *(r["id"] for r in JSONL)]:
        for rule in rules:
            if rule.endpoint in ("auth.logout", "auth.login"):
                continue  # logging out would end the walk; login is not the rater's data
            if "iid" not in rule.arguments and iid != "0":
                continue  # routes without an item once
            path = _fill(rule, pid, iid)
            if path is None:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                body = {"label": LABELS[1], "kind": "label"} if method != "GET" else None
                call(method, path, body)
    static = Path(app.static_folder)
    for file in sorted(static.rglob("*")):
        if file.is_file():
            call("GET", "/static/" + file.relative_to(static).as_posix())
    return seen


def test_rater_routes_never_carry_gold_or_votes(app: Any, client: Any, make_user: Any) -> None:
    _, token, ids = _setup(make_user)
    # The evaluation data is there (so the walk below can find a leak) ...
    assert db.session.scalar(select(func.count(GoldLabel.id))) == 8
    assert votes.total() > 0
    # ... and not in the items' data.
    for data in db.session.scalars(select(Item.data)):
        assert not any(key.startswith("_") for key in data)
    db.session.commit()
    assert login(client, "rita").status_code == 302
    walks = {name: _walk(app, client, token, pid) for name, pid in ids.items()}
    evaluated, plain = walks["evaluated"], walks["plain"]
    assert list(evaluated) == list(plain)
    ok = [key for key, text in evaluated.items() if text.startswith(("200", "201"))]
    assert len(ok) > 20, "the walk should reach most rater routes"
    for key, text in evaluated.items():
        assert not HIDDEN_KEYS.search(text), f"{key} carries a hidden key"
        for label in LABELS:
            assert text.count(label) == plain[key].count(label), (
                f"{key} names {label!r} {text.count(label)} times on the project with gold "
                f"answers and {plain[key].count(label)} times without: a gold answer leaked"
            )
