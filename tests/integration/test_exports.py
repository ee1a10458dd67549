"""Exports that are safe to open in a spreadsheet (issue 6, finding 6)."""

from __future__ import annotations

import csv
import io
from typing import Any

from labeler.extensions import db
from labeler.models import Item
from labeler.services import assignment, exporting, projects


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
