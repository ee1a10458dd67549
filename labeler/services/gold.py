"""Gold items: items an engineer gives a known answer, mixed into raters' queues.

The answer is stored where every hidden answer lives (``gold_labels``, never
``items.data``); the item's ``is_gold`` flag takes it out of the open queue, and
``labeler.services.assignment`` serves it to each rater once at the project's
``gold_rate``. Imported gold answers (``_gold``, WRENCH's ``label``) stay
evaluation data: only marking an item here makes it a gold item.

Marking an item that holds normal leases or answers is fine: its counters stay
as they are, it simply leaves the open queue (and comes back when unmarked).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import case, delete, func, select, update

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, GoldLabel, Item, Project
from labeler.models.types import utcnow
from labeler.services.assignment import find_item
from labeler.services.errors import BadInput, NotFound
from labeler.services.inputs import GoldMark, check

#: How many lines a gold CSV may have (gold items are a small sample).
MAX_GOLD_ROWS = 100_000


def _label(project: Project, label: Any) -> str:
    name = check(GoldMark, {"label": label}).label
    if name not in project.label_names:
        raise BadInput(
            f"label {name!r} is not in the project's label set",
            {"field": "label", "allowed": project.label_names},
        )
    return name


def _set(project: Project, item: Item, label: str) -> None:
    gold = db.session.scalar(select(GoldLabel).where(GoldLabel.item_id == item.id))
    if gold is None:
        db.session.add(
            GoldLabel(project_id=project.id, item_id=item.id, label=label, source="engineer")
        )
    else:
        gold.label, gold.source, gold.created_at = label, "engineer", utcnow()
    db.session.execute(update(Item).where(Item.id == item.id).values(is_gold=True, is_open=False))


def mark(project: Project, ref: str, label: Any) -> dict[str, Any]:
    """Make item ``ref`` a gold item with the known answer ``label`` (idempotent)."""
    name = _label(project, label)
    item = find_item(project, ref)
    _set(project, item, name)
    db.session.commit()
    return {"item": item.external_id, "label": name, "source": "engineer"}


def unmark(project: Project, ref: str) -> bool:
    """Item ``ref`` is a normal item again, without a gold answer; False if it was not gold."""
    item = find_item(project, ref)
    was_gold = bool(item.is_gold)
    db.session.execute(delete(GoldLabel).where(GoldLabel.item_id == item.id))
    db.session.execute(
        update(Item)
        .where(Item.id == item.id)
        # SET reads the old row: is_gold is still true there, so not ``open_after``.
        .values(is_gold=False, is_open=(Item.n_done + Item.n_leased) < project.overlap)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(item)
    return was_gold


def gold_of(project: Project, item: Item) -> str | None:
    """The known answer of a gold item (for the engineer's item page), else None."""
    if not item.is_gold:
        return None
    return db.session.scalar(select(GoldLabel.label).where(GoldLabel.item_id == item.id))


def list_gold(project: Project) -> list[dict[str, Any]]:
    """The project's gold items with their answer and how raters did on them, by id."""
    answers = (
        select(
            Annotation.item_id,
            func.count(Annotation.id).label("n"),
            func.sum(case((Annotation.label == GoldLabel.label, 1), else_=0)).label("ok"),
        )
        .join(GoldLabel, GoldLabel.item_id == Annotation.item_id)
        .where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
        )
        .group_by(Annotation.item_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Item.external_id, GoldLabel.label, GoldLabel.source, answers.c.n, answers.c.ok)
        .join(GoldLabel, GoldLabel.item_id == Item.id)
        .outerjoin(answers, answers.c.item_id == Item.id)
        .where(Item.project_id == project.id, Item.is_gold)
        .order_by(Item.id)
    )
    return [
        {
            "item": ext,
            "label": label,
            "source": source,
            "answers": int(n or 0),
            "correct": int(ok or 0),
        }
        for ext, label, source, n, ok in rows
    ]


@dataclass(frozen=True)
class GoldImport:
    marked: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"marked": self.marked, "unchanged": self.unchanged}


def _rows(stream: IO[bytes]) -> list[tuple[int, str, str]]:
    """(line, item id, label) of a CSV with the columns ``item_id,label``."""
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise BadInput("the file is empty: expected the header item_id,label", {"line": 1})
        names = [h.strip() for h in header]
        for column in ("item_id", "label"):
            if column not in names:
                raise BadInput(
                    f"line 1: the header has no column {column!r}", {"line": 1, "field": column}
                )
        at_item, at_label = names.index("item_id"), names.index("label")
        out: list[tuple[int, str, str]] = []
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(names):
                raise BadInput(
                    f"line {line}: {len(fields)} fields, the header has {len(names)}",
                    {"line": line},
                )
            out.append((line, fields[at_item].strip(), fields[at_label].strip()))
            if len(out) > MAX_GOLD_ROWS:
                raise BadInput(f"more than {MAX_GOLD_ROWS} gold items", {"line": line})
    except UnicodeDecodeError as exc:
        raise BadInput(f"the file is not UTF-8: {exc.reason}", {"line": None}) from None
    except csv.Error as exc:
        raise BadInput(f"line {reader.line_num}: {exc}", {"line": reader.line_num}) from None
    return out


def import_gold(project: Project, stream: IO[bytes]) -> GoldImport:
    """Mark the items of a CSV ``item_id,label`` as gold: all or nothing, errors name the line."""
    rows = _rows(stream)
    seen: dict[str, int] = {}
    checked: list[tuple[Item, str]] = []
    for line, ref, label in rows:
        if ref in seen:
            raise BadInput(
                f"line {line}: item {ref!r} is also on line {seen[ref]}",
                {"line": line, "field": "item_id"},
            )
        seen[ref] = line
        try:
            name = _label(project, label)
            item = find_item(project, ref)
        except (BadInput, NotFound) as exc:
            field = "item_id" if isinstance(exc, NotFound) else "label"
            raise BadInput(f"line {line}: {exc.message}", {"line": line, "field": field}) from None
        checked.append((item, name))
    current = _current(project, [item.id for item, _ in checked])
    marked = unchanged = 0
    for item, name in checked:
        if item.is_gold and current.get(item.id) == name:
            unchanged += 1
            continue
        _set(project, item, name)
        marked += 1
    db.session.commit()
    return GoldImport(marked, unchanged)


def _current(project: Project, item_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(item_ids), 5000):
        chunk = item_ids[start : start + 5000]
        for item_id, label in db.session.execute(
            select(GoldLabel.item_id, GoldLabel.label).where(GoldLabel.item_id.in_(chunk))
        ):
            out[item_id] = label
    return out


def gold_answers(project: Project) -> dict[int, str]:
    """Item id -> known answer of the project's gold items (few: one query)."""
    rows = db.session.execute(
        select(GoldLabel.item_id, GoldLabel.label)
        .join(Item, Item.id == GoldLabel.item_id)
        .where(Item.project_id == project.id, Item.is_gold)
    )
    return {int(item_id): label for item_id, label in rows}
