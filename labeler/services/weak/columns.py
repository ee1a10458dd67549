"""The items' data read in chunks and turned into columns for the vectorized applier.

Keyset pages by item id: memory stays one chunk, and a chunk's last id is the
watermark an apply advances to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Item


def max_item_id(project_id: int) -> int:
    return int(
        db.session.scalar(select(func.max(Item.id)).where(Item.project_id == project_id)) or 0
    )


def item_ids(project_id: int) -> list[int]:
    """Every item id of the project, ascending (the row order of ``L``)."""
    items = Item.__table__
    rows = db.session.connection().execute(
        select(items.c.id).where(items.c.project_id == project_id).order_by(items.c.id)
    )
    return [r[0] for r in rows]


def iter_chunks(
    project_id: int, after: int = 0, upto: int | None = None, chunk: int = 5000
) -> Iterator[tuple[list[int], list[dict[str, Any]]]]:
    """(ids, data) of the project's items with ``after < id <= upto``, ``chunk`` at a time."""
    last = after
    while True:
        query = select(Item.id, Item.data).where(Item.project_id == project_id, Item.id > last)
        if upto is not None:
            query = query.where(Item.id <= upto)
        rows = db.session.execute(query.order_by(Item.id).limit(chunk)).all()
        if not rows:
            return
        last = rows[-1].id
        yield [r.id for r in rows], [r.data if isinstance(r.data, dict) else {} for r in rows]


def to_columns(records: Sequence[dict[str, Any]], fields: Iterable[str]) -> dict[str, list[Any]]:
    """``{field: [record.get(field) ...]}`` for the fields the LFs read.

    >>> to_columns([{"text": "a", "n": 1}, {"text": "b"}], ["n"])
    {'n': [1, None]}
    """
    return {f: [r.get(f) for r in records] for f in dict.fromkeys(fields)}
