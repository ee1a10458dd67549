"""Items to label and the leases that hold them for a rater.

The queue is served from counters kept on the item (``n_done``, ``n_leased``) and
a partial index over open items, so picking the next item never scans the pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import JSONType, UTCDateTime, utcnow


class Item(db.Model):  # type: ignore[name-defined]
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        # The queue: open items of a project by priority. Partial, so it only
        # holds what can still be served. SQLAlchemy writes ``Item.is_open`` as
        # ``is_open = 1`` on SQLite, and SQLite uses a partial index only when the
        # query repeats its predicate: hence ``= 1`` there (migration 0003).
        Index(
            "ix_items_open_queue",
            "project_id",
            text("priority DESC"),
            "id",
            postgresql_where=text("is_open"),
            sqlite_where=text("is_open = 1"),
        ),
        # The item browser's keyset pages (migration 0005).
        Index("ix_items_project_id", "project_id", "id"),
        # Gold items of a project, walked in id order by ``next`` when it serves a
        # gold item (migration 0010). Partial: it holds only the few gold items.
        Index(
            "ix_items_gold",
            "project_id",
            "id",
            postgresql_where=text("is_gold"),
            sqlite_where=text("is_gold = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    # Distinct raters with a current label (or unsure) on this item.
    n_done: Mapped[int] = mapped_column(default=0)
    # Leases held on this item (expired ones are reclaimed lazily).
    n_leased: Mapped[int] = mapped_column(default=0)
    # n_done + n_leased < project.overlap, kept in the same UPDATE as the counters;
    # always false for a gold item (see ``open_after``).
    is_open: Mapped[bool] = mapped_column(default=True)
    # A gold item (an engineer marked its known answer, kept in ``gold_labels``): it
    # is out of the open queue and served to every rater once, at the project's
    # ``gold_rate``, regardless of ``overlap``.
    is_gold: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def open_after(taken: Any, overlap: int) -> ColumnElement[bool]:
    """``is_open`` for an item whose slots taken (answers + leases) are ``taken``.

    A gold item never enters the open queue: its answers and leases do not
    count against ``overlap``, and the normal pick never meets it.
    """
    return and_(Item.is_gold == false(), taken < overlap)


class Lease(db.Model):  # type: ignore[name-defined]
    __tablename__ = "leases"
    __table_args__ = (
        UniqueConstraint("item_id", "rater_id"),
        Index("ix_leases_rater", "project_id", "rater_id"),
        Index("ix_leases_expiry", "project_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
