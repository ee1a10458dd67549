"""Exports: spreadsheet-safe CSV (issue 6, finding 6); formats, options, provenance,
splits and manifests (issue 10, item 8). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Item
from labeler.services import assignment, exporting, importing, projects, users
from labeler.services.errors import BadInput
from labeler.services.exporting import ExportOptions, formats
from labeler.services.inputs import check
from labeler.services.weak import apply, lfs, model
from tests.factories import gen_items, gen_project, gen_user


def test_csv_cells_that_look_like_formulas_are_escaped(app: Any, make_user: Any) -> None:
    project = projects.create_project("sheet", ["=1+1", "@SUM(A1)", "ok"])
    ids = ['=HYPERLINK("http://evil")', "+1", "-2", "@x", "\tx", "\rx", "plain"]
    db.session.add_all(
        Item(project_id=project.id, external_id=x, data={"text": "=cmd|' /C calc'!A0"}) for x in ids
    )
    db.session.commit()
    rater, _ = make_user("r")
    assignment.answer(project, rater, "plain", "=1+1")
    text = "".join(exporting.export_lines(project.id, "csv"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == ["'" + x for x in ids[:-1]] + ["plain"]
    labeled = rows[-1]
    assert labeled["label"] == "'=1+1"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # The JSON columns stay parseable JSON.
    assert labeled["data"].startswith("{") and labeled["annotations"].startswith("[")


# ---------------------------------------------------------------- issue 10 item 8
def _crowd(project: Any, answers: dict[str, list[str]]) -> None:
    """``answers``: item external id -> one label per rater r0, r1, ... (None: no answer)."""
    raters: dict[int, Any] = {}
    for ext, labels in answers.items():
        for k, label in enumerate(labels):
            if label is None:
                continue
            if k not in raters:
                raters[k] = users.create_user(f"r{k}", "rater")
                projects.add_member(project, raters[k])
            if label in ("skip", "unsure"):
                assignment.answer(project, raters[k], ext, None, kind=label, duration_ms=900)
            else:
                assignment.answer(project, raters[k], ext, label, duration_ms=1200 + k)


def _jsonl(project: Any, **options: Any) -> list[dict[str, Any]]:
    opts = check(ExportOptions, {"format": "jsonl", **options})
    text = b"".join(exporting.stream(project, opts)).decode()
    return [json.loads(line) for line in text.splitlines()]


def test_rows_carry_final_label_source_confidence_raters_and_agreement(app: Any) -> None:
    project = gen_project("prov", ["pos", "neg"], items=4, overlap=3)
    _crowd(project, {"i0": ["pos", "pos", "neg"], "i1": ["pos", "neg"], "i2": ["neg", "skip"]})
    rows = {r["id"]: r for r in _jsonl(project)}
    assert list(rows) == ["i0", "i1", "i2", "i3"]
    i0 = rows["i0"]
    assert (i0["label"], i0["source"], i0["n_raters"]) == ("pos", "human", 3)
    assert i0["confidence"] == pytest.approx(2 / 3) and i0["agreement"] == pytest.approx(2 / 3)
    assert [a["rater"] for a in i0["annotations"]] == ["r0", "r1", "r2"]
    assert i0["annotations"][0]["duration_ms"] == 1200
    # A tie has no label; one answer has no agreement; a skip is an answer, not a vote.
    assert (rows["i1"]["label"], rows["i1"]["source"], rows["i1"]["n_raters"]) == (None, None, 2)
    assert rows["i1"]["agreement"] == pytest.approx(0.5)
    assert (rows["i2"]["label"], rows["i2"]["n_raters"], rows["i2"]["agreement"]) == (
        "neg",
        1,
        None,
    )
    assert [a["kind"] for a in rows["i2"]["annotations"]] == ["label", "skip"]
    assert rows["i3"] == {
        "id": "i3", "data": {"text": "t3"}, "annotations": [], "label": None, "source": None,
        "confidence": None, "n_raters": 0, "agreement": None,
    }  # fmt: skip
    # min_confidence keeps the row and empties its label; sources leave out human labels.
    strict = {r["id"]: r for r in _jsonl(project, min_confidence="0.9", annotations="false")}
    assert (strict["i0"]["label"], strict["i0"]["source"], strict["i0"]["confidence"]) == (
        None, None, None
    )  # fmt: skip
    assert strict["i2"]["label"] == "neg" and "annotations" not in strict["i0"]
    assert all(r["label"] is None for r in _jsonl(project, sources="label_model,propagation"))


def test_lf_votes_by_name_and_the_manifest_records_versions(app: Any, tmp_path: Path) -> None:
    project = gen_project("lfs", ["pos", "neg"])
    gen_items(project, records=[{"external_id": f"i{k}", "data": {"text": t}}
                                for k, t in enumerate(["good", "bad", "meh"])])  # fmt: skip
    lfs.save_lf(project, {"kind": "keyword", "name": "good", "label": "pos", "words": ["good"]})
    lfs.save_lf(
        project, {"kind": "keyword", "name": "good", "label": "pos", "words": ["good", "meh"]}
    )
    lfs.save_lf(project, {"kind": "keyword", "name": "bad", "label": "neg", "words": ["bad"]})
    apply.apply_stale(project)
    assert model.fit(project, "majority").status == "done"
    rows = {r["id"]: r for r in _jsonl(project, lf_votes="true")}
    assert rows["i0"]["lf_votes"] == {"bad": None, "good": "pos"}
    assert rows["i1"]["lf_votes"] == {"bad": "neg", "good": None}
    assert rows["i2"]["lf_votes"] == {"bad": None, "good": "pos"}  # version 2 votes
    assert (rows["i1"]["label"], rows["i1"]["source"]) == ("neg", "label_model")
    opts = check(ExportOptions, {"format": "jsonl", "lf_votes": True})
    manifest = exporting.export_to_file(project, opts, tmp_path / "out.jsonl")
    assert manifest["lf_versions"] == {"bad": 1, "good": 2}
    assert manifest["label_model_lfs"] == {"bad": 1, "good": 2}
    assert set(manifest["weak_runs"]) == {"label_model"}
    assert manifest["counts_per_source"]["label_model"] == 3


def test_split_is_stratified_balanced_and_reproducible(app: Any, monkeypatch: Any) -> None:
    project = gen_project("split", ["a", "b", "c"], items=25)
    # Classes of 12, 10 and 3 items: the 3 still reach train, dev and test.
    labels = ["a"] * 12 + ["b"] * 10 + ["c"] * 3
    _crowd(project, {f"i{k}": [lab] for k, lab in enumerate(labels)})
    rows = _jsonl(project, split="0.6,0.2,0.2", seed=7, annotations=False)
    per_class: dict[str, Counter[str]] = {}
    for r in rows:
        per_class.setdefault(r["label"], Counter())[r["split"]] += 1
    assert per_class == {
        "a": Counter(train=7, dev=3, test=2),  # 7.2, 2.4, 2.4: the tie goes to dev
        "b": Counter(train=6, dev=2, test=2),
        "c": Counter(train=1, dev=1, test=1),
    }
    # Same seed, another chunk size: the same split; another seed: another split.
    monkeypatch.setattr(exporting.rows, "CHUNK", 4)
    again = _jsonl(project, split="0.6,0.2,0.2", seed=7, annotations=False)
    assert [r["split"] for r in again] == [r["split"] for r in rows]
    other = _jsonl(project, split="0.6,0.2,0.2", seed=8, annotations=False)
    assert [r["split"] for r in other] != [r["split"] for r in rows]


def test_label_studio_export_imports_back_without_loss(app: Any, tmp_path: Path) -> None:
    project = gen_project("ls", ["pos", "neg"], items=3, overlap=3)
    _crowd(project, {"i0": ["pos", "neg", "pos"], "i1": ["unsure", "neg"], "i2": [None, "skip"]})
    out = tmp_path / "ls.json"
    exporting.export_to_file(project, check(ExportOptions, {"format": "label-studio"}), out)
    tasks = json.loads(out.read_text())
    first = tasks[0]["annotations"][0]
    assert first["result"] == [{"type": "choices", "value": {"choices": ["pos"]},
                                "from_name": "label", "to_name": "text"}]  # fmt: skip
    assert tasks[0]["predictions"][0]["result"][0]["value"] == {"choices": ["pos"]}
    copy = projects.create_project("ls-copy", ["pos", "neg"], overlap=3)
    with out.open("rb") as fh:
        importing.import_file(copy, fh, "label-studio")

    def comparable(p: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items()} for r in _jsonl(p)]

    assert comparable(copy) == comparable(project)
    assert comparable(copy)[1]["annotations"][0]["kind"] == "unsure"


def test_parquet_is_written_in_row_groups(app: Any, tmp_path: Path, monkeypatch: Any) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(formats, "ROW_GROUP", 4)
    project = gen_project("pq", ["pos", "neg"], items=10)
    _crowd(project, {"i1": ["neg"], "i4": ["pos"]})
    opts = check(ExportOptions, {"format": "parquet"})
    manifest = exporting.export_to_file(project, opts, tmp_path / "x.parquet")
    pf = pq.ParquetFile(tmp_path / "x.parquet")
    assert pf.metadata.num_row_groups == 3 and pf.metadata.num_rows == 10
    table = pf.read().to_pylist()
    assert [r["id"] for r in table] == [f"i{k}" for k in range(10)]
    assert table[1]["label"] == "neg" and table[1]["annotations"][0]["rater"] == "r0"
    assert json.loads(table[0]["data"]) == {"text": "t0"}
    digest = hashlib.sha256((tmp_path / "x.parquet").read_bytes()).hexdigest()
    assert manifest["sha256"] == digest and manifest["rows"] == 10
    # The HTTP body is the same bytes.
    assert hashlib.sha256(b"".join(exporting.stream(project, opts))).hexdigest() == digest


def test_hf_layout_loads_with_datasets_as_a_class_label(app: Any, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")  # a test dependency (pyproject's test extra)
    project = gen_project("hf", ["pos", "neg", "meh"], items=4)
    _crowd(project, {"i0": ["meh"], "i2": ["neg"]})
    out = tmp_path / "hf"
    opts = check(ExportOptions, {"format": "hf", "split": "0.5,0.5,0"})
    manifest = exporting.export_to_file(project, opts, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "data.parquet",
        "dataset_info.json",
    ]
    assert manifest["files"]["data.parquet"] == manifest["sha256"]
    ds = datasets.load_dataset("parquet", data_files=str(out / "data.parquet"), split="train")
    label = ds.features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == ["pos", "neg", "meh"]
    assert ds["id"] == ["i0", "i1", "i2", "i3"] and ds["label"] == [2, -1, 1, -1]
    assert ds["text"] == ["t0", "t1", "t2", "t3"] and ds["source"][0] == "human"
    assert ds[0]["annotations"][0]["label"] == "meh"
    # The card's YAML lets load_dataset read the directory itself.
    whole = datasets.load_dataset(str(out), split="train")
    assert whole.features["label"].names == ["pos", "neg", "meh"] and whole.num_rows == 4


def test_manifest_beside_the_file(app: Any, tmp_path: Path) -> None:
    project = gen_project("man", ["pos", "neg"], items=3)
    _crowd(project, {"i0": ["pos"]})
    out = tmp_path / "e.csv"
    opts = check(ExportOptions, {"format": "csv", "split": "1,0,0", "seed": 3})
    exporting.export_to_file(project, opts, out)
    manifest = json.loads((tmp_path / "e.csv.manifest.json").read_text())
    assert manifest["project"] == {"id": project.id, "name": "man"}
    assert manifest["format"] == "csv" and manifest["consensus_method"] == "mv"
    assert manifest["options"]["seed"] == 3 and manifest["options"]["split"] == "1.0,0.0,0.0"
    assert manifest["split"] == {"fractions": [1.0, 0.0, 0.0], "seed": 3,
                                 "sizes": {"train": 1, "dev": 0, "test": 0}}  # fmt: skip
    assert manifest["counts_per_source"] == {
        "adjudicated": 0, "human": 1, "label_model": 0, "propagation": 0, "null": 2
    }  # fmt: skip
    assert manifest["rows"] == 3
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["split"] for r in rows] == ["train", "", ""]


def test_rest_export_options_and_manifest(app: Any, client: Any, make_user: Any) -> None:
    project = gen_project("rest", ["pos", "neg"], items=3)
    _crowd(project, {"i0": ["pos"], "i1": ["neg"]})
    eng, eng_token = make_user("eng", "engineer")
    sme, sme_token = make_user("sme", "sme")
    projects.add_member(project, eng)
    projects.add_member(project, sme)
    url = f"/api/v1/projects/{project.id}/export"
    auth = {"Authorization": f"Bearer {eng_token}"}
    query = {"format": "jsonl", "sources": "human", "annotations": "false", "split": "0.5,0.5,0"}
    got = client.get(url, query_string=query, headers=auth)
    assert got.status_code == 200, got.get_json()
    rows = [json.loads(x) for x in got.data.decode().splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg", None]
    assert "annotations" not in rows[0] and {r["split"] for r in rows} == {"train", None}
    manifest = client.get(url + "/manifest", query_string=query, headers=auth).get_json()
    assert manifest["sha256"] == hashlib.sha256(got.data).hexdigest()
    assert manifest["rows"] == 3 and manifest["counts_per_source"]["human"] == 2
    bad = client.get(url, query_string={"min_confidence": "2"}, headers=auth)
    assert bad.status_code == 400 and "min_confidence" in bad.get_json()["error"]["message"]
    bad = client.get(url, query_string={"sources": "gold"}, headers=auth)
    assert bad.status_code == 400 and "sources" in bad.get_json()["error"]["message"]
    sme_auth = {"Authorization": f"Bearer {sme_token}"}
    assert client.get(url, query_string={"lf_votes": "true"}, headers=sme_auth).status_code == 403
    assert client.get(url, headers=sme_auth).status_code == 200
    zipped = client.get(url, query_string={"format": "hf"}, headers=auth)
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as zf:
        assert sorted(zf.namelist()) == ["README.md", "data.parquet", "dataset_info.json"]
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(zf.read("data.parquet")))
        assert b"huggingface" in table.schema.metadata and table.num_rows == 3


def test_a_failing_export_answers_an_error_before_the_download_starts(
    app: Any, client: Any, make_user: Any, monkeypatch: Any
) -> None:
    """What the whole export reads first runs in the view: its error is a 4xx, not a
    200 whose body stops half-way."""
    project = gen_project("fails", ["pos", "neg"], items=3)
    eng, token = make_user("eng", "engineer")
    projects.add_member(project, eng)
    from labeler.services.exporting import rows

    def broken(project: Any, method: str) -> Any:
        raise BadInput("consensus: the answers cannot be aggregated", {"field": "consensus"})

    monkeypatch.setattr(rows, "consensus_table", broken)
    got = client.get(
        f"/api/v1/projects/{project.id}/export", headers={"Authorization": f"Bearer {token}"}
    )
    assert got.status_code == 400 and got.mimetype == "application/json"
    assert got.get_json()["error"]["details"]["field"] == "consensus"


def test_cli_export_with_options_writes_the_manifest(app: Any, tmp_path: Path) -> None:
    project = gen_project("cli", ["pos", "neg"], items=2)
    _crowd(project, {"i0": ["pos"]})
    out = tmp_path / "c.jsonl"
    result = app.test_cli_runner().invoke(
        main, ["export", "cli", "--out", str(out), "--no-annotations", "--split", "1,0,0"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["split"] == "train" and "annotations" not in rows[0]
    assert json.loads((tmp_path / "c.jsonl.manifest.json").read_text())["rows"] == 2
    bad = app.test_cli_runner().invoke(
        main, ["export", "cli", "--out", str(out), "--split", "0,1,1"]
    )
    assert bad.exit_code != 0 and "split" in bad.output


def test_the_project_page_form_asks_for_the_declared_options(app: Any, client: Any) -> None:
    from tests.integration.test_pages import login

    eng, _ = gen_user("eng", "engineer")
    project = gen_project("page", ["pos", "neg"], items=2, members=[eng])
    _crowd(project, {"i0": ["pos"]})
    login(client, "eng")
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    form = html[html.index('class="stack export-form"') :]
    form = form[: form.index("</form>")]
    names = set(re.findall(r'name="([a-z_]+)"', form))
    assert names == set(ExportOptions.model_fields)  # every option, nothing else
    # The form's defaults, submitted as a browser would: a download.
    defaults = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    got = client.get(f"/api/v1/projects/{project.id}/export", query_string={
        **defaults, "format": "csv", "consensus": "mv", "annotations": "true", "lf_votes": "false",
        "split": ""})  # fmt: skip
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    assert list(csv.DictReader(io.StringIO(got.data.decode())))[0]["label"] == "pos"


def test_consensus_methods_and_a_bad_label_studio_answer(app: Any, tmp_path: Path) -> None:
    project = gen_project("agg", ["pos", "neg"], items=3, overlap=3)
    _crowd(project, {"i0": ["pos", "pos", "neg"], "i1": ["neg", "neg", "neg"], "i2": ["pos"]})
    for method in ("wawa", "dawid-skene"):
        rows = _jsonl(project, consensus=method)
        assert [r["label"] for r in rows] == ["pos", "neg", "pos"], method
        assert rows[1]["confidence"] == pytest.approx(1.0) and rows[0]["n_raters"] == 3
    bad = b'[{"id": "z", "data": {"text": "x"}, "annotations": [{"completed_by": "a", "result": [{"type": "choices", "value": {"choices": ["maybe"]}}]}]}]'
    with pytest.raises(BadInput) as err:
        importing.import_file(project, io.BytesIO(bad), "label-studio")
    assert "maybe" in str(err.value) and err.value.details["errors"][0]["field"] == "annotations"
    assert db.session.query(Item).filter_by(project_id=project.id, external_id="z").count() == 0
