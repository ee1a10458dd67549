"""The ``labeler`` command: machine-readable outputs scripts rely on."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Annotation, Item, User
from labeler.services import users


def test_user_create_prints_token_last(runner):
    result = runner.invoke(main, ["user", "create", "ana", "--role", "engineer", "--token"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("lbl_") and users.user_for_token(token).name == "ana"
    again = runner.invoke(main, ["user", "create", "ana"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(main, ["user", "create", "bob", "--role", "boss"])
    assert bad.exit_code != 0


def test_project_create_prints_id_last_and_add_member(runner):
    result = runner.invoke(
        main, ["project", "create", "spam", "--labels", "ham,spam", "--overlap", "2"]
    )
    assert result.exit_code == 0, result.output
    pid = int(result.output.strip().splitlines()[-1])
    runner.invoke(main, ["user", "create", "rita"])
    added = runner.invoke(main, ["project", "add-member", str(pid), "rita"])
    assert added.exit_code == 0 and "added" in added.output
    by_name = runner.invoke(main, ["project", "add-member", "spam", "rita"])
    assert "already" in by_name.output
    missing = runner.invoke(main, ["project", "add-member", "nope", "rita"])
    assert missing.exit_code != 0 and "no project" in missing.output


def test_import_export_round_trip(runner, tmp_path):
    runner.invoke(main, ["project", "create", "t", "--labels", "a,b"])
    src = tmp_path / "items.csv"
    src.write_text("id,text\nx1,hello\nx2,world\nx3,<script>alert(1)</script>\n")
    result = runner.invoke(main, ["import", "t", str(src)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["created"] == 3
    again = runner.invoke(main, ["import", "t", str(src)])
    assert json.loads(again.output.strip().splitlines()[-1])["created"] == 0
    ann = tmp_path / "labels.csv"
    ann.write_text("item_id,rater,label\nx1,r1,a\nx1,r2,a\nx2,r1,b\n")
    result = runner.invoke(main, ["import-annotations", "t", str(ann)])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Annotation.id))) == 3
    assert db.session.scalar(select(func.count(User.id)).where(User.name.in_(["r1", "r2"]))) == 2
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["export", "t", "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["x1", "x2", "x3"]
    assert rows[0]["label"] == "a" and rows[0]["source"] == "human"
    assert rows[2]["data"]["text"] == "<script>alert(1)</script>" and rows[2]["label"] is None


def test_bad_import_names_line_and_imports_nothing(runner, tmp_path):
    runner.invoke(main, ["project", "create", "t", "--labels", "a,b"])
    src = tmp_path / "bad.jsonl"
    src.write_text(
        '{"id": "1", "text": "ok"}\n{"id": "2", "text": "ok"}\n{"id": "3", "txt": "no text"}\n'
    )
    result = runner.invoke(main, ["import", "t", str(src)])
    assert result.exit_code != 0
    assert "3" in result.output and "text" in result.output
    assert db.session.scalar(select(func.count(Item.id))) == 0
