"""Export: one row per item with its annotations and its final label, streamed.

Items are read in keyset-paginated chunks, so memory stays flat in project size.
The final label takes, in order: adjudicated > human consensus > label model >
propagation, and the row names its ``source`` and ``confidence`` (the share of
the human votes, or the model's probability / propagation's confidence).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Project, User
from labeler.quality.consensus import majority
from labeler.services.weak import results as weak_results

FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
CHUNK = 1000
# OWASP's CSV-injection rule: a cell starting with one of these is a formula to
# Excel, LibreOffice and Google Sheets. Such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet will show it, never run it (OWASP CSV injection rule).

    >>> spreadsheet_safe("=1+1")
    "'=1+1"
    >>> spreadsheet_safe("-1"), spreadsheet_safe("plain")
    ("'-1", 'plain')
    """
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def final_label(
    human: tuple[str | None, float | None],
    adjudicated: tuple[str, float] | None = None,
    label_model: tuple[str, float] | None = None,
    propagation: tuple[str, float] | None = None,
) -> tuple[str | None, str | None, float | None]:
    """(label, source, confidence): adjudicated > human consensus > label model > propagation.

    >>> final_label((None, None), None, ("spam", 0.9), ("ham", 0.6))
    ('spam', 'label_model', 0.9)
    >>> final_label(("ham", 1.0), None, ("spam", 0.9))
    ('ham', 'human', 1.0)
    >>> final_label((None, None))
    (None, None, None)
    """
    if adjudicated is not None:
        return adjudicated[0], "adjudicated", adjudicated[1]
    if human[0] is not None:
        return human[0], "human", human[1]
    for source, got in (("label_model", label_model), ("propagation", propagation)):
        if got is not None:
            return got[0], source, got[1]
    return None, None, None


def iter_rows(project_id: int, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    names: dict[int, str] = {}
    last_id = 0
    project = db.session.get_one(Project, project_id)
    runs = weak_results.current_runs(project_id)
    while True:
        items = db.session.execute(
            select(Item.id, Item.external_id, Item.data)
            .where(Item.project_id == project_id, Item.id > last_id)
            .order_by(Item.id)
            .limit(chunk)
        ).all()
        if not items:
            return
        last_id = items[-1].id
        by_item: dict[int, list[Any]] = {}
        for ann in db.session.execute(
            select(
                Annotation.item_id,
                Annotation.rater_id,
                Annotation.kind,
                Annotation.label,
                Annotation.created_at,
                Annotation.duration_ms,
            )
            .where(
                Annotation.item_id.in_([i.id for i in items]),
                Annotation.is_current,
            )
            .order_by(Annotation.id)
        ):
            by_item.setdefault(ann.item_id, []).append(ann)
        chunk_ids = [i.id for i in items]
        weak = weak_results.labels_for(project, runs, chunk_ids)
        decided = weak_results.adjudicated_for(project, chunk_ids)
        missing = {a.rater_id for anns in by_item.values() for a in anns} - names.keys()
        if missing:
            rows = db.session.execute(select(User.id, User.name).where(User.id.in_(missing)))
            names.update({uid: name for uid, name in rows})
        for item in items:
            anns = by_item.get(item.id, [])
            votes = [a.label for a in anns if a.kind == AnnotationKind.LABEL.value]
            label, source, confidence = final_label(
                majority(votes),
                decided.get(item.id),
                weak.get("label_model", {}).get(item.id),
                weak.get("propagation", {}).get(item.id),
            )
            yield {
                "id": item.external_id,
                "data": item.data,
                "annotations": [
                    {
                        "rater": names.get(a.rater_id),
                        "label": a.label,
                        "kind": a.kind,
                        "created_at": a.created_at.isoformat(),
                        "duration_ms": a.duration_ms,
                    }
                    for a in anns
                ],
                "label": label,
                "source": source,
                "confidence": confidence,
            }
        # End the transaction between chunks: a long export must not hold
        # SQLite's write lock (or a PostgreSQL snapshot) for its whole run.
        db.session.commit()


def export_lines(project_id: int, fmt: str) -> Iterator[str]:
    if fmt == "jsonl":
        for row in iter_rows(project_id):
            yield json.dumps(row, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(
            ["id", "label", "source", "confidence", "n_annotations", "annotations", "data"]
        )
        for row in iter_rows(project_id):
            writer.writerow(
                [
                    spreadsheet_safe(row["id"]),
                    spreadsheet_safe(row["label"] or ""),
                    row["source"] or "",
                    "" if row["confidence"] is None else f"{row['confidence']:.4f}",
                    len(row["annotations"]),
                    # JSON starts with [ or {: never a formula, and stays parseable.
                    json.dumps(row["annotations"], ensure_ascii=False),
                    json.dumps(row["data"], ensure_ascii=False),
                ]
            )
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    else:
        raise ValueError(fmt)


def export_to_file(
    project: Project, fmt: str, out: Path, progress: Callable[[int], None] | None = None
) -> int:
    """Write the export to ``out`` (atomically: a temp file renamed at the end); returns rows."""
    tmp = out.with_name(out.name + ".part")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        for line in export_lines(project.id, fmt):
            fh.write(line)
            n += 1
            if progress:
                progress(1)
    tmp.replace(out)
    return n - (1 if fmt == "csv" else 0)
