"""Weak supervision around the core: versions, incremental apply, fits, export, the CLI.

Every test runs on SQLite and on PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Item, LabelingFunction, WeakResult, WeakRun
from labeler.services import exporting, projects, users
from labeler.services.errors import BadInput, Conflict
from labeler.services.weak import apply, lfs, model, votes, write
from tests.factories import gen_items, gen_project

KW_POS = {"kind": "keyword", "name": "good", "label": "pos", "words": ["good"]}
KW_NEG = {"kind": "keyword", "name": "bad", "label": "neg", "words": ["bad"]}


def _texts(project, texts, prefix="i"):
    gen_items(
        project,
        records=[{"external_id": f"{prefix}{k}", "data": {"text": t}} for k, t in enumerate(texts)],
    )


def _votes(lf_id):
    return votes.of_lf(lf_id)


def test_a_save_is_a_new_version_and_the_switch_covers_every_version(app):
    project = gen_project()
    v1, created = lfs.save_lf(project, KW_POS)
    assert created and v1.version == 1 and v1.spec["field"] == "text"
    same, created = lfs.save_lf(project, {**KW_POS, "whole_word": True})
    assert not created and same.id == v1.id  # equal to the newest: nothing new
    v2, created = lfs.save_lf(project, {**KW_POS, "words": ["good", "great"]})
    assert created and v2.version == 2 and v2.id != v1.id
    assert [lf.version for lf in lfs.versions(project, "good")] == [2, 1]
    assert [lf.id for lf in lfs.used(project)] == [v2.id]

    lfs.set_active(project, "good", False)
    assert lfs.used(project) == []
    assert not any(lf.active for lf in lfs.versions(project, "good"))
    lfs.set_active(project, v1.id, True)  # by any version's id
    assert [lf.id for lf in lfs.used(project)] == [v2.id]

    with pytest.raises(BadInput) as bad:
        lfs.save_lf(project, {**KW_POS, "label": "maybe"})
    assert bad.value.details["field"] == "spec.label"
    with pytest.raises(BadInput) as bad:
        lfs.save_lf(project, {"kind": "regex", "name": "r", "label": "pos", "pattern": r"(a)\1"})
    assert bad.value.details["field"] == "spec.pattern"
    db.session.add(LabelingFunction(project_id=project.id, name="wrench_0", kind="external"))
    db.session.commit()
    with pytest.raises(Conflict):
        lfs.save_lf(project, {**KW_POS, "name": "wrench_0"})


def test_apply_runs_only_what_changed(app):
    project = gen_project()
    _texts(project, ["good", "bad", "good and bad", "meh"])
    good, _ = lfs.save_lf(project, KW_POS)
    bad, _ = lfs.save_lf(project, KW_NEG)
    first = apply.apply_stale(project)
    assert first.applied == {"good": 4, "bad": 4}
    assert sorted(_votes(good.id).values()) == [0, 0] and sorted(_votes(bad.id).values()) == [1, 1]
    assert apply.apply_stale(project).applied == {}  # nothing stale

    _texts(project, ["good day", "so bad"], prefix="new")
    second = apply.apply_stale(project)
    assert second.applied == {"good": 2, "bad": 2}  # the new items only
    assert len(_votes(good.id)) == 3 and len(_votes(bad.id)) == 3

    good2, _ = lfs.save_lf(project, {**KW_POS, "words": ["good", "meh"]})
    third = apply.apply_stale(project)
    assert third.applied == {"good": 6}  # only the changed LF, on every item
    assert len(_votes(good2.id)) == 4
    assert len(_votes(good.id)) == 3  # the old version's votes are kept
    listed = {r["name"]: r for r in lfs.list_lfs(project)}
    assert listed["good"]["version"] == 2 and listed["good"]["n_votes"] == 4
    top = max(_votes(bad.id)) if _votes(bad.id) else 0
    assert listed["bad"]["applied_upto"] >= top


def test_fit_stores_probabilities_and_marks_uncovered_items(app):
    project = gen_project()
    _texts(project, ["good", "bad", "good and bad", "meh"])
    lfs.save_lf(project, KW_POS)
    lfs.save_lf(project, KW_NEG)
    apply.apply_stale(project)
    run = model.fit(project, "majority")
    assert run.status == "done", run.error
    rows = {
        r.item_id: r
        for r in db.session.scalars(select(WeakResult).where(WeakResult.run_id == run.id))
    }
    assert len(rows) == 4
    by_text = {}
    for item_id, r in rows.items():
        by_text[item_id] = (r.label, r.covered, np.frombuffer(r.proba, "<f4").round(3).tolist())
    labels = sorted(v for v in by_text.values())
    assert (-1, False, [0.5, 0.5]) in labels  # "meh": no LF covers it
    assert (-1, True, [0.5, 0.5]) in labels  # a tie: covered, no label
    assert (0, True, [1.0, 0.0]) in labels and (1, True, [0.0, 1.0]) in labels
    assert run.metrics["n_covered"] == 3 and run.metrics["n_labeled"] == 2


def test_a_fit_that_fails_midway_is_a_failed_run_with_no_results(app, monkeypatch):
    """The results written before the failure go; the run says why."""
    project = gen_project()
    _texts(project, ["good", "bad", "good and bad", "meh"])
    lfs.save_lf(project, KW_POS)
    lfs.save_lf(project, KW_NEG)
    apply.apply_stale(project)
    real_write = write.write_results

    def write_then_fail(run_id, *args, **kwargs):
        real_write(run_id, *args, **kwargs)
        db.session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(write, "write_results", write_then_fail)
    run = model.fit(project, "majority")
    assert run.status == "failed" and "disk full" in run.error
    assert run.finished_at is not None
    n = db.session.scalar(select(func.count()).where(WeakResult.run_id == run.id))
    assert n == 0
    monkeypatch.setattr(write, "write_results", real_write)
    assert model.fit(project, "majority").status == "done"


def test_export_takes_human_then_label_model_then_propagation(app, tmp_path):
    project = gen_project()
    _texts(project, ["good", "bad", "meh", "nothing"])
    rater = users.create_user("r1", "rater")
    projects.add_member(project, rater)
    from labeler.services import assignment

    assignment.answer(project, rater, "i1", "pos")  # human says pos where the LFs say neg
    lfs.save_lf(project, KW_POS)
    lfs.save_lf(project, KW_NEG)
    apply.apply_stale(project)
    assert model.fit(project, "majority").status == "done"
    item = {e: i for e, i in db.session.execute(select(Item.external_id, Item.id)).all()}
    prop = WeakRun(project_id=project.id, kind="propagation", method="knn", status="done")
    db.session.add(prop)
    db.session.commit()
    db.session.execute(
        insert(WeakResult),
        [
            {"run_id": prop.id, "item_id": item[e], "label": 1, "confidence": 0.4, "covered": True}
            for e in ("i0", "i1", "i2")
        ],
    )
    db.session.commit()
    rows = {r["id"]: r for r in exporting.iter_rows(project.id)}
    assert (rows["i1"]["label"], rows["i1"]["source"], rows["i1"]["confidence"]) == (
        "pos",
        "human",
        1.0,
    )
    assert (rows["i0"]["label"], rows["i0"]["source"]) == ("pos", "label_model")
    assert rows["i0"]["confidence"] == pytest.approx(1.0)
    assert (rows["i2"]["label"], rows["i2"]["source"], rows["i2"]["confidence"]) == (
        "neg",
        "propagation",
        pytest.approx(0.4),
    )
    assert (rows["i3"]["label"], rows["i3"]["source"], rows["i3"]["confidence"]) == (
        None,
        None,
        None,
    )
    text = "".join(exporting.export_lines(project.id, "csv"))
    by_id = {r["id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert by_id["i2"]["source"] == "propagation" and by_id["i2"]["label"] == "neg"
    assert by_id["i0"]["source"] == "label_model"


def test_wrench_import_then_weak_fit_majority_json(app, runner, tmp_path):
    rng = np.random.default_rng(3)
    n, k = 60, 3
    gold = rng.integers(0, k, n)
    votes = np.where(rng.random((n, 4)) < 0.6, gold[:, None], rng.integers(-1, k, (n, 4)))
    votes[:5] = -1  # five items no LF covers
    wrench = {
        str(i): {"label": int(gold[i]), "weak_labels": votes[i].tolist(), "data": {"text": f"t{i}"}}
        for i in range(n)
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps(wrench))
    assert runner.invoke(main, ["project", "create", "w", "--labels", "a,b,c"]).exit_code == 0
    imported = runner.invoke(main, ["import", "w", str(path), "--format", "wrench"])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(main, ["weak", "fit", "w", "--method", "majority", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # The same figures by hand: majority over non-abstain votes, ties abstain.
    counts = np.stack([(votes == c).sum(axis=1) for c in range(k)], axis=1)
    top = counts.max(axis=1)
    tie = (counts == top[:, None]).sum(axis=1) > 1
    pred = np.where((top > 0) & ~tie, counts.argmax(axis=1), -1)
    covered = (votes >= 0).any(axis=1)
    m = out["metrics"]
    assert out["status"] == "done" and out["method"] == "majority"
    assert m["n_items"] == n and m["n_lfs"] == 4 and m["lfs"] == [f"wrench_{j}" for j in range(4)]
    assert m["n_covered"] == int(covered.sum()) and m["coverage"] == pytest.approx(covered.mean())
    assert m["n_labeled"] == int((pred >= 0).sum())
    assert m["gold"]["n"] == n and m["gold"]["n_scored"] == int((pred >= 0).sum())
    assert m["gold"]["accuracy"] == pytest.approx((pred[pred >= 0] == gold[pred >= 0]).mean())
    assert m["gold"]["accuracy_all"] == pytest.approx((pred == gold).mean())
    listed = runner.invoke(main, ["lf", "list", "w", "--json"])
    assert {r["kind"] for r in json.loads(listed.stdout)["lfs"]} == {"external"}


def test_cli_lf_add_list_disable_and_stats(app, runner):
    project = gen_project("c")
    _texts(project, ["good", "bad", "good"])
    added = runner.invoke(
        main,
        ["lf", "add", "c", "--kind", "keyword", "--name", "g", "--label", "pos", "--words", "good"],
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["version"] == 1
    spec = json.dumps({"kind": "regex", "name": "b", "label": "neg", "pattern": "ba+d"})
    assert runner.invoke(main, ["lf", "add", "c", "--spec", spec]).exit_code == 0
    bad = runner.invoke(main, ["lf", "add", "c", "--spec", '{"kind": "regex", "name": "x"}'])
    assert bad.exit_code != 0 and "spec." in bad.output
    stats = runner.invoke(main, ["lf", "stats", "c", "--json"])
    assert stats.exit_code == 0, stats.output
    rows = {r["name"]: r for r in json.loads(stats.stdout)["lfs"]}
    assert rows["g"]["coverage"] == pytest.approx(2 / 3) and rows["b"]["polarity"] == ["neg"]
    assert runner.invoke(main, ["lf", "disable", "c", "b"]).exit_code == 0
    listed = json.loads(runner.invoke(main, ["lf", "list", "c", "--json"]).stdout)["lfs"]
    assert {r["name"]: r["active"] for r in listed} == {"b": False, "g": True}
    assert votes.total() == 3


def test_propagate_fills_the_items_without_a_label(app, runner, monkeypatch):
    app.config["LABELER_TEXT_FEATURES"] = "tfidf"
    project = gen_project("p2")
    texts = [f"spam offer win money {k}" for k in range(6)] + [
        f"lovely song great voice {k}" for k in range(6)
    ]
    _texts(project, texts)
    rater = users.create_user("r1", "rater")
    projects.add_member(project, rater)
    from labeler.services import assignment

    assignment.answer(project, rater, "i0", "neg")
    assignment.answer(project, rater, "i6", "pos")
    result = runner.invoke(main, ["propagate", "p2", "--json", "--k", "3"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == "done" and out["kind"] == "propagation"
    m = out["metrics"]
    assert m["n_seeds"] == 2 and m["n_seeds_human"] == 2 and m["features"] == "tfidf"
    rows = {r["id"]: r for r in exporting.iter_rows(project.id)}
    assert rows["i0"]["source"] == "human" and rows["i6"]["source"] == "human"
    filled = {k: rows[f"i{k}"] for k in (*range(1, 6), *range(7, 12))}
    assert all(r["source"] == "propagation" for r in filled.values())
    assert [filled[k]["label"] for k in range(1, 6)] == ["neg"] * 5
    assert [filled[k]["label"] for k in range(7, 12)] == ["pos"] * 5
    assert all(0 < r["confidence"] <= 1 for r in filled.values())


def test_a_reimport_that_changes_an_item_reapplies_the_lfs_to_it(app):
    from labeler.services import importing

    project = gen_project("re")
    importing.import_records(project, [{"id": "a", "text": "good"}, {"id": "b", "text": "meh"}])
    good, _ = lfs.save_lf(project, KW_POS)
    old_bad, _ = lfs.save_lf(project, KW_NEG)
    apply.apply_stale(project)
    lfs.set_active(project, "bad", False)  # an unused version: must not keep stale votes
    item = {e: i for e, i in db.session.execute(select(Item.external_id, Item.id)).all()}
    assert _votes(good.id) == {item["a"]: 0}
    importing.import_records(project, [{"id": "a", "text": "bad now"}, {"id": "b", "text": "good"}])
    report = apply.apply_stale(project)
    assert report.redone == 2 and report.applied == {}  # no new items, no new versions
    assert _votes(good.id) == {item["b"]: 0}
    assert [r["n_votes"] for r in lfs.list_lfs(project) if r["name"] == "good"] == [1]
    assert _votes(old_bad.id) == {}  # cleared for the changed items ...
    lfs.set_active(project, "bad", True)
    assert apply.apply_stale(project).applied == {"bad": 2}  # ... and fully re-applied
    assert _votes(old_bad.id) == {item["a"]: 1}
    unchanged = apply.apply_stale(project)
    assert unchanged.redone == 0 and unchanged.applied == {}


def test_a_renamed_label_is_renamed_in_the_lf_specs(app):
    project = gen_project("ren")
    _texts(project, ["good", "bad"])
    good, _ = lfs.save_lf(project, KW_POS)
    apply.apply_stale(project)
    projects.update_project(project, labels=[{"old": "pos", "name": "positive"}])
    db.session.refresh(good)
    assert good.spec["label"] == "positive" and good.version == 1
    _texts(project, ["good again"], prefix="new")
    report = apply.apply_stale(project)
    assert report.applied == {"good": 1} and report.errors == {}
    assert sorted(_votes(good.id).values()) == [0, 0]


def test_columns_read_by_the_database_equal_the_records_fields(app):
    """PostgreSQL takes the LFs' fields out of the JSON itself; what it yields must be
    exactly what ``record.get(field)`` gives for every JSON type, as on SQLite."""
    from labeler.services.weak import columns

    project = gen_project()
    values = ["a text", 5, 2.5, True, None, [1, "x"], {"k": "v"}, "", "ü 🙂", "5"]
    gen_items(
        project,
        records=[{"external_id": f"v{k}", "data": {"f": v, "g": k}} for k, v in enumerate(values)]
        + [{"external_id": "missing", "data": {"g": 99}}],
    )
    fields = ["f", "g", "absent"]
    by_db = list(columns.iter_columns(project.id, fields, chunk=4))
    by_py = [
        (ids, columns.to_columns(r, fields)) for ids, r in columns.iter_chunks(project.id, chunk=4)
    ]
    assert [ids for ids, _ in by_db] == [ids for ids, _ in by_py] and len(by_db) == 3
    for (_, got), (_, want) in zip(by_db, by_py, strict=True):
        assert got == want
        for field in fields:
            assert [type(v) for v in got[field]] == [type(v) for v in want[field]]
