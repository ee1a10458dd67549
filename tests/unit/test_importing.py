"""Importing items and annotations, on both backends: formats, errors, atomicity, idempotence."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import (
    Annotation,
    GoldLabel,
    Item,
    LabelingFunction,
    Membership,
    User,
)
from labeler.services import assignment, importing, projects
from labeler.services.errors import BadInput
from labeler.services.weak import votes
from tests.factories import gen_project


def _bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def _jsonl(*objects: object) -> io.BytesIO:
    return _bytes("".join(json.dumps(o) + "\n" for o in objects))


def _project(kind: str = "text", **kw: object):
    return gen_project(kind=kind, **kw)


def _items(project) -> dict[str, Item]:
    db.session.expire_all()
    rows = db.session.scalars(select(Item).where(Item.project_id == project.id))
    return {item.external_id: item for item in rows}


def _errors(excinfo: pytest.ExceptionInfo[BadInput]) -> list[dict]:
    return excinfo.value.details["errors"]


def _gold(project) -> dict[str, tuple[str, str]]:
    rows = db.session.execute(
        select(Item.external_id, GoldLabel.label, GoldLabel.source)
        .join(Item, Item.id == GoldLabel.item_id)
        .where(GoldLabel.project_id == project.id)
    )
    return {ext: (label, source) for ext, label, source in rows}


def _votes(project) -> dict[tuple[str, str], int]:
    names = dict(
        db.session.execute(
            select(LabelingFunction.id, LabelingFunction.name).where(
                LabelingFunction.project_id == project.id
            )
        ).all()
    )
    ext = dict(db.session.execute(select(Item.id, Item.external_id)).all())
    lf_a, item_a, vote_a = votes.read(list(names))
    return {
        (names[lf], ext[item]): vote
        for lf, item, vote in zip(lf_a.tolist(), item_a.tolist(), vote_a.tolist(), strict=True)
        if item in ext
    }


def _n_items() -> int:
    return db.session.scalar(select(func.count(Item.id)))


# ---------------------------------------------------------------- formats
def test_guess_and_check_format():
    assert importing.guess_format("a.csv") == "csv"
    assert importing.guess_format("dir/A.JSONL") == "jsonl"
    assert importing.guess_format("a.ndjson") == "jsonl"
    assert importing.guess_format("tasks.json") == "label-studio"
    with pytest.raises(BadInput) as excinfo:
        importing.guess_format("a.xlsx")
    assert excinfo.value.details["allowed"] == list(importing.FORMATS)
    importing.check_format("wrench")
    with pytest.raises(BadInput, match="unknown import format 'xml'"):
        importing.check_format("xml")


def test_unknown_format_imports_nothing(app):
    project = _project()
    with pytest.raises(BadInput, match="csv, jsonl, label-studio, wrench"):
        importing.import_file(project, _bytes("id,text\n1,a\n"), "xml")
    assert _n_items() == 0


def test_csv_with_id_column(app):
    project = _project()
    result = importing.import_file(
        project, _bytes("id,text,source\nx1,hello,web\nx2,bye,app\n"), "csv"
    )
    assert result.as_dict() == {"created": 2, "updated": 0, "unchanged": 0, "total": 2}
    items = _items(project)
    assert items["x1"].data == {"text": "hello", "source": "web"}
    assert (items["x2"].priority, items["x2"].n_done, items["x2"].n_leased) == (0.0, 0, 0)
    assert items["x2"].is_open is True


def test_csv_without_id_uses_row_numbers(app):
    project = _project()
    importing.import_file(project, _bytes("text\na\n\nb\nc\n"), "csv")
    items = _items(project)
    assert {k: v.data["text"] for k, v in items.items()} == {"1": "a", "2": "b", "3": "c"}


def test_csv_bom_crlf_and_multiline_fields(app):
    project = _project()
    raw = '\ufeffid,text\r\n1,"two\r\nlines"\r\n2,"say ""hi"""\r\n'.encode()
    importing.import_file(project, io.BytesIO(raw), "csv")
    items = _items(project)
    assert items["1"].data == {"text": "two\r\nlines"}
    assert items["2"].data == {"text": 'say "hi"'}


def test_csv_priority_column(app):
    project = _project()
    importing.import_file(project, _bytes("id,text,priority\na,x,2.5\nb,y,\nc,z,-1\n"), "csv")
    items = _items(project)
    assert {k: v.priority for k, v in items.items()} == {"a": 2.5, "b": 0.0, "c": -1.0}
    assert items["a"].data == {"text": "x"}
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("id,text,priority\nd,x,high\n"), "csv")
    assert _errors(excinfo) == [
        {"line": 2, "field": "priority", "message": "priority must be a number, not 'high'"}
    ]


def test_tabular_csv_converts_numbers(app):
    project = _project("tabular")
    csv_text = "id,age,score,zip,name,ratio,empty\nr1,42,-0.5,007,ann,1e3,\n"
    importing.import_file(project, _bytes(csv_text), "csv")
    data = _items(project)["r1"].data
    assert data == {
        "age": 42,
        "score": -0.5,
        "zip": "007",
        "name": "ann",
        "ratio": 1000.0,
        "empty": None,
    }
    assert isinstance(data["age"], int)


def test_text_project_keeps_numbers_as_text(app):
    project = _project()
    importing.import_file(project, _bytes("id,text,n\n1,hello,42\n"), "csv")
    assert _items(project)["1"].data == {"text": "hello", "n": "42"}


def test_jsonl_data_key_or_remaining_keys(app):
    project = _project()
    stream = _jsonl(
        {"id": "a", "data": {"text": "in data"}, "extra": "dropped"},
        {"id": 7, "text": "flat", "lang": "en", "priority": 3},
        {"text": "no id"},
    )
    result = importing.import_file(project, stream, "jsonl")
    assert result.created == 3
    items = _items(project)
    assert items["a"].data == {"text": "in data"}
    assert items["7"].data == {"text": "flat", "lang": "en"}
    assert items["7"].priority == 3.0
    assert items["3"].data == {"text": "no id"}


def test_label_studio_tasks(app):
    project = _project()
    tasks = [
        {"id": 11, "data": {"text": "first"}, "annotations": [{"result": []}]},
        {"id": 12, "data": {"text": "second", "meta": 1}, "predictions": []},
    ]
    result = importing.import_file(project, _bytes(json.dumps(tasks, indent=2)), "label-studio")
    assert result.created == 2
    items = _items(project)
    assert items["11"].data == {"text": "first"}
    assert items["12"].data == {"text": "second", "meta": 1}


def test_label_studio_errors_name_the_task_line(app):
    project = _project()
    text = '[\n  {"id": 1, "data": {"text": "ok"}},\n  {"id": 2, "data": {"body": "no text"}},\n  {"id": 3}\n]'
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes(text), "label-studio")
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [(3, "text"), (4, "data")]
    assert _n_items() == 0


def test_wrench_gold_and_votes_go_to_their_own_tables(app):
    project = _project()
    wrench = {
        "0": {"label": 1, "weak_labels": [-1, 1, 0], "data": {"text": "check my channel"}},
        "1": {"label": 0, "weak_labels": [-1, -1, -1], "data": {"text": "nice song"}},
    }
    result = importing.import_file(project, _bytes(json.dumps(wrench)), "wrench")
    assert result.created == 2
    items = _items(project)
    assert items["0"].data == {"text": "check my channel"}
    assert _gold(project) == {"0": ("neg", "wrench"), "1": ("pos", "wrench")}
    assert _votes(project) == {("wrench_1", "0"): 1, ("wrench_2", "0"): 0}
    lfs = db.session.scalars(
        select(LabelingFunction).where(LabelingFunction.project_id == project.id)
    )
    assert sorted((lf.name, lf.kind, lf.version) for lf in lfs) == [
        ("wrench_0", "external", 1),
        ("wrench_1", "external", 1),
        ("wrench_2", "external", 1),
    ]
    again = importing.import_file(project, _bytes(json.dumps(wrench)), "wrench")
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 2, "total": 2}
    wrench["1"]["weak_labels"] = [0, -1, -1]
    wrench["0"]["label"] = 0
    changed = importing.import_file(project, _bytes(json.dumps(wrench)), "wrench")
    assert changed.as_dict() == {"created": 0, "updated": 2, "unchanged": 0, "total": 2}
    assert _votes(project) == {("wrench_1", "0"): 1, ("wrench_2", "0"): 0, ("wrench_0", "1"): 0}
    assert _gold(project)["0"] == ("pos", "wrench")


def test_wrench_votes_and_labels_out_of_range_name_line_and_field(app):
    project = _project()
    text = (
        '{\n "a": {"label": 0, "weak_labels": [0, 1], "data": {"text": "x"}},\n'
        ' "b": {"label": 2, "data": {"text": "y"}},\n'
        ' "c": {"weak_labels": [0, 5], "data": {"text": "z"}},\n'
        ' "d": {"weak_labels": "1", "data": {"text": "z"}}\n}'
    )
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes(text), "wrench")
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [
        (3, "label"),
        (4, "weak_labels"),
        (5, "weak_labels"),
    ]
    assert "vote 1 is 5" in _errors(excinfo)[1]["message"]
    assert _n_items() == 0
    assert votes.total() == 0


def test_gold_keys_are_kept_apart_and_checked(app):
    project = _project()
    importing.import_file(
        project,
        _jsonl(
            {"id": "a", "text": "x", "_gold": "pos"}, {"id": "b", "text": "y", "_gold_label": "neg"}
        ),
        "jsonl",
    )
    importing.import_file(project, _bytes("id,text,_gold\nc,z,neg\nd,w,\n"), "csv")
    importing.import_file(
        project, _bytes('[{"id": "e", "data": {"text": "v", "_gold": "pos"}}]'), "label-studio"
    )
    assert {k: v.data for k, v in _items(project).items()} == {
        "a": {"text": "x"},
        "b": {"text": "y"},
        "c": {"text": "z"},
        "d": {"text": "w"},
        "e": {"text": "v"},
    }
    assert _gold(project) == {
        "a": ("pos", "import"),
        "b": ("neg", "import"),
        "c": ("neg", "import"),
        "e": ("pos", "import"),
    }
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(
            project,
            _jsonl(
                {"id": "f", "text": "x", "_gold": "maybe"},
                {"id": "g", "text": "x", "_secret": 1},
                {"id": "h", "text": "x", "_gold": ["pos"]},
            ),
            "jsonl",
        )
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [
        (1, "_gold"),
        (2, "_secret"),
        (3, "_gold"),
    ]
    assert "'maybe' is not one of the project's labels (pos, neg)" in _errors(excinfo)[0]["message"]
    with pytest.raises(BadInput, match="line 2, field '_note'"):
        importing.import_file(project, _bytes("id,text,_note\nq,z,hi\n"), "csv")
    assert set(_items(project)) == set("abcde")


def test_wrong_json_shape_suggests_the_other_format(app):
    project = _project()
    with pytest.raises(BadInput, match="use the format 'wrench'"):
        importing.import_file(project, _bytes('{"0": {"data": {"text": "a"}}}'), "label-studio")
    with pytest.raises(BadInput, match="use the format 'label-studio'"):
        importing.import_file(project, _bytes('[{"data": {"text": "a"}}]'), "wrench")


def test_image_project_accepts_image_key(app):
    project = _project("image")
    importing.import_file(project, _jsonl({"id": "a", "image": "https://x/1.png"}), "jsonl")
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _jsonl({"id": "b", "caption": "no image"}), "jsonl")
    assert _errors(excinfo)[0]["field"] == "text"
    assert set(_items(project)) == {"a"}
    # Pixel arrays (scikit-learn's digits) are images too; a list of words is not.
    importing.import_file(project, _jsonl({"id": "px", "image": [0, 3.5, 16]}), "jsonl")
    with pytest.raises(BadInput, match="pixel values"):
        importing.import_file(project, _jsonl({"id": "bad", "image": ["a", "b"]}), "jsonl")
    assert set(_items(project)) == {"a", "px"}


def test_custom_text_field(app, shared_data: Path):
    project = projects.create_project("yt", ["spam", "ham"], text_field="CONTENT")
    path = shared_data / "youtube_spam" / "Youtube04-Eminem.csv"  # has multi-line comments
    with path.open("rb") as fh:
        result = importing.import_file(project, fh, "csv")
    assert result.created == 448
    assert all(item.data["CONTENT"] for item in _items(project).values())


def test_wrench_reference_file(app, shared_data: Path):
    project = _project()
    with (shared_data / "wrench" / "youtube" / "valid.json").open("rb") as fh:
        result = importing.import_file(project, fh, "wrench")
    assert result.created == 120
    assert not any(k.startswith("_") for item in _items(project).values() for k in item.data)
    assert {label for label, _ in _gold(project).values()} == {"pos", "neg"}
    assert len(_gold(project)) == 120
    assert {lf for lf, _ in _votes(project)} <= {f"wrench_{k}" for k in range(10)}


def test_import_records(app):
    project = _project()
    result = importing.import_records(project, [{"id": "a", "text": "x"}, {"text": "y"}])
    assert result.created == 2
    with pytest.raises(BadInput) as excinfo:
        importing.import_records(project, [{"id": "c", "text": "ok"}, "not an object"])
    assert excinfo.value.message.startswith(
        "1 problem in the request; nothing was imported (item 2"
    )
    assert _errors(excinfo)[0]["line"] == 2
    assert set(_items(project)) == {"a", "2"}


# ---------------------------------------------------------------- idempotence
def test_reimport_creates_nothing(app):
    project = _project()
    text = "id,text\na,x\nb,y\n"
    importing.import_file(project, _bytes(text), "csv")
    again = importing.import_file(project, _bytes(text), "csv")
    assert again.as_dict() == {"created": 0, "updated": 0, "unchanged": 2, "total": 2}
    assert _n_items() == 2


def test_changed_rows_update_their_items(app):
    project = _project()
    importing.import_file(
        project, _jsonl({"id": "a", "text": "x"}, {"id": "b", "text": "y"}), "jsonl"
    )
    before = _items(project)["a"].id
    stream = _jsonl(
        {"id": "a", "text": "x2"}, {"id": "b", "text": "y", "priority": 5}, {"id": "c", "text": "z"}
    )
    result = importing.import_file(project, stream, "jsonl")
    assert result.as_dict() == {"created": 1, "updated": 2, "unchanged": 0, "total": 3}
    items = _items(project)
    assert items["a"].id == before and items["a"].data == {"text": "x2"}
    assert items["b"].priority == 5.0
    # A row without a priority keeps the stored one (active learning may have set it).
    importing.import_file(project, _jsonl({"id": "b", "text": "y"}), "jsonl")
    assert _items(project)["b"].priority == 5.0


# ---------------------------------------------------------------- bad input
def test_one_bad_row_late_in_a_big_file_imports_nothing(app):
    project = _project()
    rows = ["id,text"] + [f"r{k},text {k}" for k in range(2, 5002)]
    rows[3999] = "r4000,"  # line 4000: after two chunks were written
    seen: list[int] = []
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("\n".join(rows) + "\n"), "csv", progress=seen.append)
    assert _errors(excinfo) == [
        {"line": 4000, "field": "text", "message": "'text' is missing or empty"}
    ]
    assert excinfo.value.message == (
        "1 problem in the file; nothing was imported (line 4000, field 'text': "
        "'text' is missing or empty)"
    )
    assert excinfo.value.details["truncated"] is False
    assert seen[:2] == [2000, 4000]
    assert _n_items() == 0
    db.session.rollback()
    assert _n_items() == 0


def test_progress_reports_rows_after_each_chunk(app):
    app.config["LABELER_IMPORT_CHUNK"] = 2
    project = _project()
    seen: list[int] = []
    text = "text\n" + "".join(f"t{k}\n" for k in range(5))
    importing.import_file(project, _bytes(text), "csv", progress=seen.append)
    assert seen == [2, 4, 5]


def test_at_most_twenty_errors_then_truncated(app):
    project = _project()
    text = "id,text\n" + "".join(f"r{k},\n" for k in range(30))
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes(text), "csv")
    errors = _errors(excinfo)
    assert len(errors) == 20 and excinfo.value.details["truncated"] is True
    assert [e["line"] for e in errors] == list(range(2, 22))
    assert excinfo.value.message.startswith("more than 20 problems in the file")

    few = "id,text\n" + "".join(f"r{k},{'' if k % 2 else 'ok'}\n" for k in range(10))
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes(few), "csv")
    assert len(_errors(excinfo)) == 5 and excinfo.value.details["truncated"] is False
    assert excinfo.value.message.startswith("5 problems in the file")
    assert _n_items() == 0


def test_malformed_csv_rows(app):
    project = _project()
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("id,text\n1,a\n2,b,extra\n3\n4,d\n"), "csv")
    assert _errors(excinfo) == [
        {"line": 3, "field": None, "message": "3 fields where the header has 2"},
        {"line": 4, "field": None, "message": "1 fields where the header has 2"},
    ]
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes('id,text\n1,a\n2,"never closed\n3,c\n'), "csv")
    (error,) = _errors(excinfo)
    assert error["line"] == 3 and error["message"].startswith("malformed CSV")
    assert _n_items() == 0


def test_bad_csv_header(app):
    project = _project()
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("id,body\n1,a\n"), "csv")
    (error,) = _errors(excinfo)
    assert (error["line"], error["field"]) == (1, "text")
    assert "the columns are: id, body" in error["message"]
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("id,text,text,\n1,a,b,c\n"), "csv")
    assert [e["message"] for e in _errors(excinfo)] == [
        "column 4 of the header has no name",
        "the column 'text' appears twice",
    ]


def test_bad_json_lines(app):
    project = _project()
    stream = _bytes(
        '{"id": 1, "text": "ok"}\n'
        '{"id": 2, "text": "broken"\n'
        "\n"
        '["a list"]\n'
        '{"id": 4, "text": NaN}\n'
        '{"id": 5.5, "text": "float id"}\n'
        '{"id": 6, "text": "nul \\u0000"}\n'
        '{"id": 7, "text": "ok", "note": "lone \\ud800"}\n' + "[" * 100_000 + "\n"
    )
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, stream, "jsonl")
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [
        (2, None),
        (4, None),
        (5, None),
        (6, "id"),
        (7, "text"),
        (8, "note"),
        (9, None),
    ]
    messages = [e["message"] for e in _errors(excinfo)]
    assert messages[0].startswith("invalid JSON")
    assert messages[1] == "expected a JSON object, found a list"
    assert _n_items() == 0


def test_non_utf8_bytes_name_the_line(app):
    project = _project()
    raw = "id,text\n1,caf\u00e9\n".encode() + b"2,caf\xe9\n3,ok\n"
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, io.BytesIO(raw), "csv")
    (error,) = _errors(excinfo)
    assert error["line"] == 3 and "not UTF-8" in error["message"] and "0xe9" in error["message"]
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(
            project, io.BytesIO(b"[\n" + b'{"data": {"text": "\xff"}}]'), "label-studio"
        )
    assert _errors(excinfo)[0]["line"] == 2
    with pytest.raises(BadInput, match="UTF-16"):
        importing.import_file(project, io.BytesIO("text\nhi\n".encode("utf-16")), "csv")
    assert _n_items() == 0


def test_missing_or_empty_text(app):
    project = _project()
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(
            project,
            _jsonl({"id": 1, "text": "ok"}, {"id": 2, "title": "x"}, {"id": 3, "text": "  "}),
            "jsonl",
        )
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [(2, "text"), (3, "text")]


def test_duplicate_ids_in_one_file(app):
    project = _project()
    with pytest.raises(BadInput) as excinfo:
        importing.import_file(project, _bytes("id,text\na,x\nb,y\na,z\n"), "csv")
    assert _errors(excinfo) == [
        {"line": 4, "field": "id", "message": "duplicate id 'a': an earlier line has it too"}
    ]
    assert _n_items() == 0


@pytest.mark.parametrize("fmt", importing.FORMATS)
def test_empty_file(app, fmt):
    project = _project()
    with pytest.raises(BadInput, match="nothing to import") as excinfo:
        importing.import_file(project, io.BytesIO(b""), fmt)
    assert _errors(excinfo)[0]["line"] == 1


def test_header_only_and_empty_list(app):
    project = _project()
    with pytest.raises(BadInput, match="only a header"):
        importing.import_file(project, _bytes("id,text\n"), "csv")
    with pytest.raises(BadInput, match="nothing to import"):
        importing.import_file(project, _bytes("[]"), "label-studio")
    with pytest.raises(BadInput, match="nothing to import"):
        importing.import_records(project, [])


# ---------------------------------------------------------------- annotations
def _labeled_project(overlap: int = 2):
    project = _project(overlap=overlap)
    importing.import_records(project, [{"id": k, "text": k} for k in ("a", "b", "c")])
    return project


def _current(project) -> dict[tuple[str, str], str]:
    rows = db.session.execute(
        select(Item.external_id, User.name, Annotation.label)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.rater_id)
        .where(Annotation.project_id == project.id, Annotation.is_current.is_(True))
    )
    return {(item, rater): label for item, rater, label in rows}


def test_import_annotations_creates_raters_and_counts(app, make_user):
    project = _labeled_project(overlap=2)
    make_user("bob")
    text = "item_id,rater,label,duration_ms,created_at\na,ann,pos,1200,2024-01-02T03:04:05Z\na,bob,neg,,\nb,ann,pos,,\n"
    result = importing.import_annotations(project, _bytes(text))
    assert result.as_dict() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "total": 3,
        "raters_created": 1,
    }
    ann = db.session.scalar(select(User).where(User.name == "ann"))
    assert ann.role == "rater"
    members = set(
        db.session.scalars(select(Membership.user_id).where(Membership.project_id == project.id))
    )
    assert ann.id in members and len(members) == 2
    first = db.session.scalar(select(Annotation).where(Annotation.duration_ms == 1200))
    assert first.origin == "import" and first.kind == "label"
    assert first.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    items = _items(project)
    assert (items["a"].n_done, items["a"].is_open) == (2, False)
    assert (items["b"].n_done, items["b"].is_open) == (1, True)
    assert (items["c"].n_done, items["c"].is_open) == (0, True)
    assert assignment.counters_consistent(project) == []

    again = importing.import_annotations(project, _bytes(text))
    assert (again.created, again.unchanged, again.raters_created) == (0, 3, 0)
    assert db.session.scalar(select(func.count(Annotation.id))) == 3


def test_changed_label_keeps_history(app):
    project = _labeled_project(overlap=1)
    importing.import_annotations(project, _bytes("item_id,rater,label\na,ann,pos\nb,ann,neg\n"))
    result = importing.import_annotations(
        project, _bytes("item_id,rater,label\na,ann,neg\nb,ann,neg\n")
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert _current(project) == {("a", "ann"): "neg", ("b", "ann"): "neg"}
    history = db.session.scalars(
        select(Annotation)
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.external_id == "a")
        .order_by(Annotation.id)
    ).all()
    assert [(a.label, a.is_current) for a in history] == [("pos", False), ("neg", True)]
    assert history[0].retracted_at is not None
    items = _items(project)
    assert (items["a"].n_done, items["a"].is_open) == (1, False)
    assert assignment.counters_consistent(project) == []


def test_bad_annotation_rows_import_nothing(app):
    project = _labeled_project()
    text = (
        "item_id,rater,label\na,ann,pos\nb,ann,maybe\nzzz,bob,neg\na,ann,neg\nc,,pos\nc,eve,pos,x\n"
    )
    with pytest.raises(BadInput) as excinfo:
        importing.import_annotations(project, _bytes(text))
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [
        (3, "label"),
        (4, "item_id"),
        (5, "rater"),
        (6, "rater"),
        (7, None),
    ]
    assert "'maybe' is not one of the project's labels" in _errors(excinfo)[0]["message"]
    assert db.session.scalar(select(func.count(Annotation.id))) == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_bad_optional_annotation_columns(app):
    project = _labeled_project()
    text = "item_id,rater,label,duration_ms,created_at\na,ann,pos,-5,\nb,ann,pos,,yesterday\n"
    with pytest.raises(BadInput) as excinfo:
        importing.import_annotations(project, _bytes(text))
    assert [(e["line"], e["field"]) for e in _errors(excinfo)] == [
        (2, "duration_ms"),
        (3, "created_at"),
    ]


def test_annotation_header_must_name_the_columns(app):
    project = _labeled_project()
    with pytest.raises(BadInput) as excinfo:
        importing.import_annotations(project, _bytes("item,rater,label\na,ann,pos\n"))
    assert _errors(excinfo)[0]["field"] == "item_id"
    with pytest.raises(BadInput, match="nothing to import"):
        importing.import_annotations(project, _bytes(""))


# ---------------------------------------------------------------- streaming
class _GeneratedCsv(io.RawIOBase):
    """A CSV produced on demand: never in memory as a whole."""

    def __init__(self, n_rows: int) -> None:
        self._lines = self._generate(n_rows)
        self._pending = b""
        self.size = 0

    @staticmethod
    def _generate(n_rows: int) -> Iterator[bytes]:
        yield b"id,text,source\n"
        filler = "lorem ipsum dolor sit amet " * 15
        for k in range(n_rows):
            yield f"doc-{k},{filler}{k},web\n".encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while len(self._pending) < len(buffer):
            line = next(self._lines, None)
            if line is None:
                break
            self._pending += line
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.size += n
        return n


@pytest.mark.db  # builds its own SQLite database
def test_large_csv_streams_in_bounded_memory(tmp_path):
    from flask_migrate import upgrade

    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    with app.app_context():
        upgrade()
        project = _project()
        stream = _GeneratedCsv(200_000)
        tracemalloc.start()
        try:
            result = importing.import_file(project, stream, "csv")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.created == 200_000
        assert stream.size > 80_000_000
        assert peak < stream.size / 3, f"peak {peak} bytes for a {stream.size}-byte file"
        assert _n_items() == 200_000
        db.session.remove()
        db.engine.dispose()
