"""The item browser: filtered, keyset-paged item lists and one item's full history.

Pages are keyset-paged on the item id (``id > :after ORDER BY id LIMIT n``), never
OFFSET: page 10,000 of a million items costs what page 1 does. The index
``ix_items_project_id`` (migration 0005) serves the order; the filters are
correlated EXISTS probes on the annotations' own indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import aliased

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Project, TrainingRound, User
from labeler.services.errors import BadInput, NotFound
from labeler.services.inputs import ITEM_ID_MAX, LABEL_MAX, USER_NAME_MAX, as_id, is_reference

Status = Literal["", "unlabeled", "in_progress", "complete", "disputed"]
STATUSES: dict[str, str] = {
    "": "any status",
    "unlabeled": "unlabeled",
    "in_progress": "in progress",
    "complete": "complete",
    "disputed": "tied or disputed",
}
PAGE_SIZE = 50
SEARCH_MAX = 200


@dataclass(frozen=True)
class ItemFilter:
    status: str = ""
    label: str = ""
    rater: str = ""
    q: str = ""
    after: int = 0

    def params(self) -> dict[str, str]:
        """The filter as query-string values (empty ones left out)."""
        out = {"status": self.status, "label": self.label, "rater": self.rater, "q": self.q}
        return {k: v for k, v in out.items() if v}


def parse_filter(args: Any) -> ItemFilter:
    """Query-string values, bounded; a bad value is a 400 naming the field."""
    status = (args.get("status") or "").strip()
    if status not in STATUSES:
        raise BadInput(
            f"status must be one of: {', '.join(s for s in STATUSES if s)}", {"field": "status"}
        )
    label = (args.get("label") or "").strip()
    rater = (args.get("rater") or "").strip()
    q = (args.get("q") or "").strip()
    for field, value, limit in (
        ("label", label, LABEL_MAX),
        ("rater", rater, USER_NAME_MAX),
        ("q", q, SEARCH_MAX),
    ):
        if value and not is_reference(value, limit):
            raise BadInput(f"{field} is too long or contains NUL", {"field": field})
    raw_after = (args.get("after") or "").strip()
    after = as_id(raw_after) if raw_after else 0
    if after is None:
        raise BadInput("after must be an item position from a previous page", {"field": "after"})
    return ItemFilter(status, label, rater, q, after)


def _disputed(project: Project) -> ColumnElement[bool]:
    """Complete, and no single label leads (a tie at the top, or no labels at all)."""
    a = aliased(Annotation)
    per_label = (
        select(func.count().label("n"))
        .where(a.item_id == Item.id, a.is_current, a.kind == AnnotationKind.LABEL.value)
        .group_by(a.label)
        .correlate(Item)
        .subquery()
    )
    top = select(func.max(per_label.c.n)).scalar_subquery()
    n_top = (
        select(func.count()).select_from(per_label).where(per_label.c.n == top).scalar_subquery()
    )
    return (Item.n_done >= project.overlap) & (n_top != 1)


def _conditions(project: Project, f: ItemFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Item.project_id == project.id]
    if f.status == "unlabeled":
        conds += [Item.n_done == 0, Item.n_leased == 0]
    elif f.status == "in_progress":
        conds += [Item.n_done < project.overlap, (Item.n_done + Item.n_leased) > 0]
    elif f.status == "complete":
        conds.append(Item.n_done >= project.overlap)
    elif f.status == "disputed":
        conds.append(_disputed(project))
    if f.label or f.rater:
        probe = select(Annotation.id).where(Annotation.item_id == Item.id, Annotation.is_current)
        if f.label:
            probe = probe.where(Annotation.label == f.label)
        if f.rater:
            rater_id = db.session.scalar(select(User.id).where(User.name == f.rater))
            probe = probe.where(Annotation.rater_id == (rater_id or -1))
        conds.append(exists(probe.correlate(Item)))
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        text = Item.data[project.text_field].as_string()
        conds.append(
            func.lower(text).like(pattern.lower(), escape="\\")
            if _sqlite()
            else text.ilike(pattern, escape="\\")
        )
    return conds


def _sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def page_query(project: Project, f: ItemFilter, size: int = PAGE_SIZE) -> Any:
    """The SELECT of one page (exposed so tests can read its plan)."""
    return (
        select(Item.id, Item.external_id, Item.data, Item.n_done, Item.n_leased, Item.priority)
        .where(*_conditions(project, f), Item.id > f.after)
        .order_by(Item.id)
        .limit(size + 1)
    )


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_after: int | None


def status_of(project: Project, n_done: int, n_leased: int) -> str:
    if n_done >= project.overlap:
        return "complete"
    if n_done or n_leased:
        return "in progress"
    return "unlabeled"


def items_page(project: Project, f: ItemFilter, size: int = PAGE_SIZE) -> Page:
    """One page of items matching ``f`` after ``f.after``, and where the next page starts."""
    found = db.session.execute(page_query(project, f, size)).all()
    more = len(found) > size
    found = found[:size]
    rows = []
    for r in found:
        shown = r.data.get(project.text_field) if isinstance(r.data, dict) else None
        rows.append(
            {
                "id": r.id,
                "external_id": r.external_id,
                "text": shown if isinstance(shown, str) else ("" if shown is None else str(shown)),
                "n_done": r.n_done,
                "status": status_of(project, r.n_done, r.n_leased),
            }
        )
    return Page(rows, found[-1].id if more and found else None)


def raters(project: Project) -> list[str]:
    """Names of users with an annotation in the project (for the rater filter)."""
    ids = select(Annotation.rater_id).where(Annotation.project_id == project.id).distinct()
    return list(db.session.scalars(select(User.name).where(User.id.in_(ids)).order_by(User.name)))


@dataclass
class ItemDetail:
    item: Item
    text: str
    status: str
    annotations: list[dict[str, Any]]
    priority: float
    last_round: TrainingRound | None


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def item_detail(project: Project, ref: str) -> ItemDetail:
    """One item by its external id, with every annotation (current and retracted)."""
    if not is_reference(ref, ITEM_ID_MAX):
        raise NotFound("no such item")
    item = db.session.scalar(
        select(Item).where(Item.project_id == project.id, Item.external_id == ref)
    )
    if item is None:
        raise NotFound(f"no item {ref!r}")
    rows = db.session.execute(
        select(Annotation, User.name)
        .join(User, User.id == Annotation.rater_id)
        .where(Annotation.item_id == item.id)
        .order_by(Annotation.id)
    ).all()
    annotations = [
        {
            "rater": name,
            "kind": a.kind,
            "label": a.label or "",
            "created_at": _iso(a.created_at),
            "retracted_at": _iso(a.retracted_at),
            "duration_ms": a.duration_ms,
            "origin": a.origin,
            "current": a.is_current,
        }
        for a, name in rows
    ]
    last_round = db.session.scalar(
        select(TrainingRound)
        .where(TrainingRound.project_id == project.id, TrainingRound.status == "done")
        .order_by(TrainingRound.id.desc())
        .limit(1)
    )
    shown = item.data.get(project.text_field) if isinstance(item.data, dict) else None
    return ItemDetail(
        item=item,
        text=shown if isinstance(shown, str) else ("" if shown is None else str(shown)),
        status=status_of(project, item.n_done, item.n_leased),
        annotations=annotations,
        priority=item.priority,
        last_round=last_round,
    )


__all__ = ["STATUSES", "ItemFilter", "Page", "item_detail", "items_page", "parse_filter", "raters"]
