"""Suggested LFs mined from the human labels, and label matrices imported from Snorkel.

Every test runs on SQLite and on PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import json

import pytest

from labeler.cli import main
from labeler.services import assignment
from labeler.services.weak import lfs
from tests.factories import gen_items, gen_project

# "prize" is on 6 spam items a rater labeled and 2 of the 4 unlabeled ones; nothing else
# reaches 5 labeled items with one label only.
LABELED = [
    ("l0", "win a prize now", "spam"),
    ("l1", "claim your prize today", "spam"),
    ("l2", "prize waiting for you", "spam"),
    ("l3", "a free prize", "spam"),
    ("l4", "your prize is here", "spam"),
    ("l5", "prize prize prize", "spam"),
    ("l6", "see you at lunch", "ham"),
    ("l7", "the meeting moved", "ham"),
    ("l8", "lunch is at noon", "ham"),
    ("l9", "thanks for the notes", "ham"),
    ("l10", "call me later", "ham"),
]
POOL = [("u0", "another prize"), ("u1", "a Prize for you"), ("u2", "hello"), ("u3", "notes")]


def _project(make_user):
    sme, token = make_user("s1", "sme")
    rater, rater_token = make_user("r1", "rater")
    project = gen_project("sg", labels=["ham", "spam"], members=[sme, rater])
    gen_items(
        project,
        records=[{"external_id": e, "data": {"text": t}} for e, t, _ in LABELED]
        + [{"external_id": e, "data": {"text": t}} for e, t in POOL],
    )
    for ext, _, label in LABELED:
        assignment.answer(project, rater, ext, label)
    return project, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {rater_token}"}


def test_a_word_that_predicts_a_label_is_suggested_once(app, client, make_user, runner):
    project, sme, rater = _project(make_user)
    url = f"/api/v1/projects/{project.id}/lfs/suggestions"
    r = client.get(url, headers=sme)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["n_labeled"] == len(LABELED) and body["exact"]
    by_word = {tuple(s["words"]): s for s in body["suggestions"]}
    prize = by_word[("prize",)]
    assert prize["label"] == "spam" and prize["precision"] == 1.0 and prize["support"] == 6
    assert prize["coverage"] == pytest.approx(2 / 4)
    assert prize["spec"]["kind"] == "keyword" and prize["spec"]["field"] == "text"
    assert {s["label"] for s in body["suggestions"]} == {"spam"}

    assert client.get(url, headers=rater).status_code in (403, 404)

    # Accepted through the save route: it is not suggested again, and the CLI agrees.
    saved = client.post(f"/api/v1/projects/{project.id}/lfs", json=prize["spec"], headers=sme)
    assert saved.status_code == 201, saved.get_json()
    again = client.get(url, headers=sme).get_json()
    assert ("prize",) not in {tuple(s["words"]) for s in again["suggestions"]}
    out = runner.invoke(main, ["lf", "suggest", "sg", "--json"])
    assert out.exit_code == 0, out.output
    assert ("prize",) not in {tuple(s["words"]) for s in json.loads(out.stdout)["suggestions"]}


def test_an_identical_lf_under_another_name_is_not_suggested(app, runner, make_user):
    project, _, _ = _project(make_user)

    def suggested():
        out = runner.invoke(main, ["lf", "suggest", "sg", "--json"])
        assert out.exit_code == 0, out.output
        return {tuple(s["words"]): s for s in json.loads(out.stdout)["suggestions"]}

    # An LF already holds the suggestion's name: the suggestion is renamed, so accepting
    # it never becomes a new version of that other LF.
    lfs.save_lf(
        project, {"kind": "keyword", "name": "kw_spam_prize", "label": "ham", "words": ["x"]}
    )
    assert suggested()[("prize",)]["spec"]["name"] == "kw_spam_prize_2"
    lfs.save_lf(project, {"kind": "regex", "name": "p", "label": "spam", "pattern": r"\bprize\b"})
    assert ("prize",) not in suggested()
