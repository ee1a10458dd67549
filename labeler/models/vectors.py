"""Stored item vectors (sentence embeddings), computed once per item and model.

Rounds, the similar-items route and (later) propagation read these instead of
running the model again: embedding is the slow part (about 80-100 short texts
per second per CPU process), so it happens once, in workers, after an import.
The model's name and package version are part of the key, so a new model never
mixes with vectors of an old one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import UTCDateTime, utcnow

# Items' ids are BIGINT on PostgreSQL, INTEGER (rowid) on SQLite: the same here.
ITEM_ID = BigInteger().with_variant(db.Integer, "sqlite")


class ItemVector(db.Model):  # type: ignore[name-defined]
    """One item's vector under one model: ``dim`` float32 values, little-endian."""

    __tablename__ = "item_vectors"
    # A project's matrix and its "how many are ready" count read by (project, model).
    __table_args__ = (Index("ix_item_vectors_project_model", "project_id", "model", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ITEM_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dim: Mapped[int] = mapped_column()
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
