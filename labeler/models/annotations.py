"""Annotations: append-only. A change or an undo adds history, never overwrites."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import UTCDateTime, utcnow


class AnnotationKind(enum.StrEnum):
    LABEL = "label"
    SKIP = "skip"
    UNSURE = "unsure"


class Annotation(db.Model):  # type: ignore[name-defined]
    __tablename__ = "annotations"
    __table_args__ = (
        # At most one current annotation per rater and item: the database itself
        # refuses a rater labeling an item twice.
        Index(
            "uq_annotations_current",
            "item_id",
            "rater_id",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
        Index("ix_annotations_project", "project_id", "item_id"),
        Index("ix_annotations_rater", "project_id", "rater_id"),
        # "Labels since the last round" counts a project's newest rows.
        Index("ix_annotations_recent", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default=AnnotationKind.LABEL.value)
    label: Mapped[str | None] = mapped_column(String(120))
    duration_ms: Mapped[int | None] = mapped_column()
    # Where it came from: ui, api or import.
    origin: Mapped[str] = mapped_column(String(8), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # False once replaced by a newer annotation of the same rater or undone.
    is_current: Mapped[bool] = mapped_column(default=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def counts(self) -> bool:
        """Whether this annotation fills one of the item's ``overlap`` slots."""
        return self.kind != AnnotationKind.SKIP
