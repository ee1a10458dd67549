"""The items' data read in chunks and turned into columns for the vectorized applier.

Keyset pages by item id: memory stays one chunk, and a chunk's last id is the
watermark an apply advances to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import case, func, select

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


def iter_columns(
    project_id: int,
    fields: Sequence[str],
    after: int = 0,
    upto: int | None = None,
    chunk: int = 5000,
) -> Iterator[tuple[list[int], dict[str, list[Any]]]]:
    """(ids, columns) of the items with ``after < id <= upto``: only ``fields`` of their data.

    On PostgreSQL each field is taken out of the JSON by the database: a string as
    text (no JSON decoding in Python, which was most of an apply's read), anything
    else as its JSON value, so a column holds exactly what ``record.get(field)``
    would. Elsewhere it is :func:`iter_chunks` + :func:`to_columns`.
    """
    fields = list(dict.fromkeys(fields))
    if db.session.connection().dialect.name != "postgresql":
        for ids, records in iter_chunks(project_id, after, upto, chunk):
            yield ids, to_columns(records, fields)
        return
    data = Item.__table__.c.data
    picked = []
    for k, field in enumerate(fields):
        value = data[field]
        is_str = func.jsonb_typeof(value) == "string"
        picked.append(case((is_str, value.as_string())).label(f"s{k}"))
        picked.append(case((~is_str, value)).label(f"j{k}"))
    last = after
    items = Item.__table__
    while True:
        query = select(items.c.id, *picked).where(
            items.c.project_id == project_id, items.c.id > last
        )
        if upto is not None:
            query = query.where(items.c.id <= upto)
        rows = db.session.connection().execute(query.order_by(items.c.id).limit(chunk)).all()
        if not rows:
            return
        last = rows[-1][0]
        cols = {
            field: [r[1 + 2 * k] if r[1 + 2 * k] is not None else r[2 + 2 * k] for r in rows]
            for k, field in enumerate(fields)
        }
        yield [r[0] for r in rows], cols


def to_columns(records: Sequence[dict[str, Any]], fields: Iterable[str]) -> dict[str, list[Any]]:
    """``{field: [record.get(field) ...]}`` for the fields the LFs read.

    >>> to_columns([{"text": "a", "n": 1}, {"text": "b"}], ["n"])
    {'n': [1, None]}
    """
    return {f: [r.get(f) for r in records] for f in dict.fromkeys(fields)}
