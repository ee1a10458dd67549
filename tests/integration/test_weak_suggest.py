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


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("min_precision=1.5", 400, "min_precision"),
        ("min_support=0", 400, "min_support"),
        ("top=x", 400, "top"),
        ("min_precision=0&min_support=1&top=1", 200, None),
    ],
)
def test_the_query_is_checked(app, client, make_user, query, status, field):
    project, sme, _ = _project(make_user)
    r = client.get(f"/api/v1/projects/{project.id}/lfs/suggestions?{query}", headers=sme)
    assert r.status_code == status, r.get_json()
    if field:
        assert field in json.dumps(r.get_json()["error"])
    else:
        assert len(r.get_json()["suggestions"]) == 1


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


# Rows in the order of IDS below; labels ham=0, spam=1.
MATRIX = [
    [1, -1, 0],
    [1, 1, -1],
    [-1, 0, -1],
    [0, -1, -1],
    [-1, -1, -1],
]
IDS = ["u0", "l0", "l6", "u2", "u3"]


def _save(tmp_path, matrix, ids, dtype="int8"):
    import numpy as np

    np.save(tmp_path / "L.npy", np.asarray(matrix, dtype=dtype))
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    return [str(tmp_path / "L.npy"), "--ids", str(tmp_path / "ids.txt")]


def _stored():
    from sqlalchemy import func, select

    from labeler.extensions import db
    from labeler.models import LabelingFunction
    from labeler.services.weak import votes

    return (
        db.session.scalar(select(func.count()).select_from(LabelingFunction)),
        votes.total(),
    )


def test_a_snorkel_matrix_becomes_external_lfs_with_their_coverage(
    app, runner, make_user, tmp_path
):
    _project(make_user)
    files = _save(tmp_path, MATRIX, IDS)
    out = runner.invoke(main, ["lf", "import-matrix", "sg", *files])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert [(r["name"], r["n_votes"]) for r in got["lfs"]] == [
        ("snorkel_0", 3),
        ("snorkel_1", 2),
        ("snorkel_2", 1),
    ]
    stats = runner.invoke(main, ["lf", "stats", "sg", "--json"])
    assert stats.exit_code == 0, stats.output
    rows = {r["name"]: r for r in json.loads(stats.stdout)["lfs"]}
    n = len(LABELED) + len(POOL)
    assert rows["snorkel_0"]["coverage"] == pytest.approx(3 / n)
    assert rows["snorkel_1"]["coverage"] == pytest.approx(2 / n)
    assert rows["snorkel_2"]["coverage"] == pytest.approx(1 / n)
    assert (
        rows["snorkel_0"]["polarity"] == ["ham", "spam"] and rows["snorkel_1"]["kind"] == "external"
    )
    # l0 is spam by the rater, snorkel_1 votes spam there; l6 is ham, snorkel_1 votes ham.
    assert rows["snorkel_1"]["emp_accuracy"] == pytest.approx(1.0)

    # Again for one named column: its votes are replaced (u0 and l0 only), not added.
    matrix = [[0], [0], [-1], [-1], [-1]]
    args = ["lf", "import-matrix", "sg", *_save(tmp_path, matrix, IDS), "--names", "snorkel_0"]
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert [(r["name"], r["n_votes"]) for r in json.loads(again.stdout)["lfs"]] == [
        ("snorkel_0", 2)
    ]
    stats = json.loads(runner.invoke(main, ["lf", "stats", "sg", "--json"]).stdout)
    rows = {r["name"]: r for r in stats["lfs"]}
    assert rows["snorkel_0"]["coverage"] == pytest.approx(2 / n)
    assert rows["snorkel_0"]["polarity"] == ["ham"]


@pytest.mark.parametrize(
    ("matrix", "ids", "names", "message"),
    [
        ([[0, 1], [2, -1], [0, 0]], ["l0", "l1", "l2"], None, "row 1, column 0"),
        ([[0, 1], [0, -2], [0, 0]], ["l0", "l1", "l2"], None, "row 1, column 1"),
        ([[0, 1], [1, -1], [0, 0]], ["l0", "nope", "l2"], None, "line 2"),
        ([[0, 1], [1, -1], [0, 0]], ["l0", "l1", "l0"], None, "line 3"),
        ([[0, 1], [1, -1]], ["l0", "l1", "l2"], None, "3 ids for a matrix of 2 rows"),
        ([[0, 1], [1, -1], [0, 0]], ["l0", "l1", "l2"], "a", "1 names for 2 columns"),
        ([[0, 1], [1, -1], [0, 0]], ["l0", "l1", "l2"], "a,own", "'own' is one of the project"),
    ],
)
def test_a_bad_matrix_stores_nothing(app, runner, make_user, tmp_path, matrix, ids, names, message):
    project, _, _ = _project(make_user)
    lfs.save_lf(project, {"kind": "keyword", "name": "own", "label": "ham", "words": ["lunch"]})
    before = _stored()
    args = ["lf", "import-matrix", "sg", *_save(tmp_path, matrix, ids)]
    out = runner.invoke(main, args + (["--names", names] if names else []))
    assert out.exit_code != 0 and message in out.output, out.output
    assert _stored() == before


def test_a_pickled_or_float_matrix_is_refused(app, runner, make_user, tmp_path):
    import numpy as np

    _project(make_user)
    np.save(tmp_path / "o.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "ids.txt").write_text("l0\n")
    out = runner.invoke(
        main,
        ["lf", "import-matrix", "sg", str(tmp_path / "o.npy"), "--ids", str(tmp_path / "ids.txt")],
    )
    assert out.exit_code != 0 and "not a numpy array file" in out.output, out.output
    out = runner.invoke(
        main, ["lf", "import-matrix", "sg", *_save(tmp_path, [[0.5]], ["l0"], "float32")]
    )
    assert out.exit_code != 0 and "integers" in out.output and _stored() == (0, 0)


def test_the_api_imports_a_matrix_as_the_cli_does_and_names_what_is_wrong(
    app, client, make_user, tmp_path
):
    import io

    import numpy as np

    project, sme, rater = _project(make_user)
    url = f"/api/v1/projects/{project.id}/lfs/import-matrix"

    def form(matrix, ids, names=None, dtype="int8"):
        buf = io.BytesIO()
        np.save(buf, np.asarray(matrix, dtype=dtype))
        data = {
            "matrix": (io.BytesIO(buf.getvalue()), "L.npy"),
            "ids": (io.BytesIO(("\n".join(ids) + "\n").encode()), "ids.txt"),
        }
        if names is not None:
            data["names"] = names
        return data

    assert client.post(url, data=form(MATRIX, IDS), headers=rater).status_code == 403
    assert _stored() == (0, 0)
    r = client.post(url, data=form(MATRIX, IDS), headers=sme)
    assert r.status_code == 201, r.get_json()
    assert [(x["name"], x["n_votes"]) for x in r.get_json()["lfs"]] == [
        ("snorkel_0", 3),
        ("snorkel_1", 2),
        ("snorkel_2", 1),
    ]
    before = _stored()
    bad = client.post(url, data=form([[0, 1], [2, -1], [0, 0]], ["l0", "l1", "l2"]), headers=sme)
    assert bad.status_code == 400 and "row 1, column 0" in bad.get_json()["error"]["message"]
    junk = {"matrix": (io.BytesIO(b"not npy"), "L.npy"), "ids": (io.BytesIO(b"l0\n"), "i.txt")}
    bad = client.post(url, data=junk, headers=sme)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "matrix"
    bad = client.post(url, json={"matrix": [[0]]}, headers=sme)
    assert bad.status_code in (400, 415), bad.get_json()
    assert _stored() == before
