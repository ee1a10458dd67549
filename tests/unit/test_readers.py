"""The pure readers, with literal bytes: no database, no Flask, no project.

These are the fast tier: ``pytest tests/unit/test_readers.py`` runs in well under a second.
"""

from __future__ import annotations

import io

import pytest

from labeler.services.importing.readers import Hints, Problem, Row, read
from labeler.services.importing.readers.annotations import Vote, vote_rows
from labeler.services.importing.readers.checks import check_row
from labeler.services.importing.readers.jsonl import record_rows
from labeler.services.importing.readers.rows import Invalid

LABELS = Hints(labels=("pos", "neg", "neutral"))


def _read(fmt: str, raw: bytes, hints: Hints = LABELS) -> list[Row | Problem]:
    return list(read(fmt, io.BytesIO(raw), hints))


def _checked(fmt: str, raw: bytes, hints: Hints = LABELS) -> list[Row | Problem]:
    out: list[Row | Problem] = []
    for row in _read(fmt, raw, hints):
        if isinstance(row, Row):
            try:
                check_row(hints, row)
            except Invalid as exc:
                row = exc.at(row.line)
        out.append(row)
    return out


def test_no_database_fixture_is_requested(request):
    assert not {"app", "db_url", "backend"} & set(request.fixturenames)


def test_csv_bom_crlf_multiline_and_ids():
    rows = _read("csv", '\ufeffid,text\r\n1,"two\r\nlines"\r\n2,"say ""hi"""\r\n'.encode())
    assert [(r.line, r.external_id, r.data) for r in rows] == [
        (2, "1", {"text": "two\r\nlines"}),
        (4, "2", {"text": 'say "hi"'}),
    ]


def test_csv_tabular_cells_but_hidden_columns_stay_text():
    rows = _checked(
        "csv", b"id,age,zip,_gold\nr1,42,007,neg\n", Hints(tabular=True, labels=("neg",))
    )
    (row,) = rows
    assert isinstance(row, Row)
    assert (row.data, row.gold, row.gold_source) == ({"age": 42, "zip": "007"}, "neg", "import")


def test_csv_field_limit_reports_only_the_real_problem():
    big = b"x" * 200_000  # above csv.field_size_limit() (131072)
    rows = _read("csv", b"id,text\n1," + big + b"\n")
    assert len(rows) == 1 and isinstance(rows[0], Problem)
    assert rows[0].line == 2
    assert "field larger than field limit" in rows[0].message
    assert "only a header" not in rows[0].message


def test_csv_header_only_is_still_reported():
    assert _read("csv", b"id,text\n") == [
        Problem(2, None, "nothing to import: the file has only a header")
    ]


def test_annotation_csv_field_limit_reports_only_the_real_problem():
    rows = list(
        vote_rows(io.BytesIO(b"item_id,rater,label\n" + b"a" * 200_000 + b",r,pos\n"), {"pos"})
    )
    assert len(rows) == 1 and "field larger than field limit" in rows[0].message
    ok = list(vote_rows(io.BytesIO(b"item_id,rater,label\na,ann,pos\n"), {"pos"}))
    assert isinstance(ok[0], Vote) and (ok[0].item, ok[0].rater) == ("a", "ann")


def test_not_utf8_and_utf16_name_the_line():
    rows = _read("jsonl", b'{"text": "a"}\n{"text": "b\xff"}\n')
    assert [type(r).__name__ for r in rows] == ["Row", "Problem", "Row"]
    assert rows[1].line == 2 and "not UTF-8" in rows[1].message
    assert _read("csv", "id,text\n".encode("utf-16")) == [
        Problem(1, None, "the file is UTF-16; save it as UTF-8")
    ]


def test_jsonl_errors_name_line_and_column():
    rows = _read("jsonl", b'{"id": 1, "text": "a"}\n{"id": x}\n\n[1]\n{"text": NaN}\n')
    assert [(r.line, r.message) for r in rows if isinstance(r, Problem)] == [
        (2, "invalid JSON: Expecting value (column 8)"),
        (4, "expected a JSON object, found a list"),
        (5, "invalid JSON: NaN is not a JSON number"),
    ]


def test_api_records_are_numbered_from_one():
    rows = list(record_rows([{"text": "a"}, "nope"]))
    assert isinstance(rows[0], Row) and rows[0].external_id == "1"
    assert rows[1] == Problem(2, None, "expected a JSON object, found a string")


def test_label_studio_tasks_and_element_lines():
    raw = b'[\n  {"id": 1, "data": {"text": "ok"}},\n  {"id": 2},\n  7\n]'
    rows = _read("label-studio", raw)
    assert isinstance(rows[0], Row) and rows[0].data == {"text": "ok"}
    assert [(r.line, r.field) for r in rows[1:]] == [(3, "data"), (4, None)]
    (shape,) = _read("label-studio", b'{"0": {}}')
    assert "use the format 'wrench'" in shape.message


def test_wrench_keeps_gold_and_votes_out_of_the_data():
    raw = b'{"a": {"label": 1, "weak_labels": [-1, 2, 0], "data": {"text": "hi"}}}'
    (row,) = _checked("wrench", raw)
    assert isinstance(row, Row)
    assert row.data == {"text": "hi"}
    assert (row.gold, row.gold_source, row.votes) == ("neg", "wrench", [-1, 2, 0])


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ('{"label": 3, "data": {"text": "x"}}', "label", "not 3"),
        ('{"label": "maybe", "data": {"text": "x"}}', "label", "not 'maybe'"),
        ('{"weak_labels": [0, 7], "data": {"text": "x"}}', "weak_labels", "vote 1 is 7"),
        ('{"weak_labels": [true], "data": {"text": "x"}}', "weak_labels", "vote 0 is True"),
        ('{"weak_labels": 1, "data": {"text": "x"}}', "weak_labels", "must be a list"),
    ],
)
def test_wrench_values_out_of_range_name_the_field(entry, field, message):
    (problem,) = _checked("wrench", b'{\n"a": ' + entry.encode() + b"\n}")
    assert isinstance(problem, Problem)
    assert (problem.line, problem.field) == (2, field)
    assert message in problem.message


def test_gold_keys_leave_the_data_and_other_underscore_keys_are_refused():
    raw = (
        b'{"id": "a", "text": "x", "_gold": "pos"}\n'
        b'{"id": "b", "text": "x", "_gold_label": "neutral"}\n'
        b'{"id": "c", "text": "x", "_gold": "maybe"}\n'
        b'{"id": "d", "text": "x", "_weak_labels": [1]}\n'
        b'{"id": "e", "text": "x", "_gold": "pos", "_gold_label": "neg"}\n'
        b'{"id": "f", "data": {"text": "x", "_gold": 1}}\n'
    )
    rows = _checked("jsonl", raw)
    assert [(r.data, r.gold) for r in rows[:2] if isinstance(r, Row)] == [
        ({"text": "x"}, "pos"),
        ({"text": "x"}, "neutral"),
    ]
    assert [(r.line, r.field) for r in rows[2:] if isinstance(r, Problem)] == [
        (3, "_gold"),
        (4, "_weak_labels"),
        (5, "_gold_label"),
        (6, "_gold"),
    ]
    assert "reserved" in rows[3].message


def test_shown_field_rules():
    assert _checked("jsonl", b'{"body": "x"}\n')[0] == Problem(
        1, "text", "'text' is missing or empty"
    )
    image = Hints(shown=("image", "image"), image=True)
    assert isinstance(_checked("jsonl", b'{"image": [0, 1.5]}\n', image)[0], Row)
    assert "pixel values" in _checked("jsonl", b'{"image": ["a"]}\n', image)[0].message
