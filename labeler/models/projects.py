"""Projects, their ordered label sets and their members."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labeler.extensions import db
from labeler.models.types import UTCDateTime, utcnow


class ProjectKind(enum.StrEnum):
    TEXT = "text"
    TABULAR = "tabular"
    IMAGE = "image"


class Project(db.Model):  # type: ignore[name-defined]
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("overlap >= 1", name="overlap_positive"),
        CheckConstraint("lease_seconds >= 1", name="lease_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    instructions: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default=ProjectKind.TEXT.value)
    # Which field of an item's data holds the text (or image) to show.
    text_field: Mapped[str] = mapped_column(String(120), default="text")
    overlap: Mapped[int] = mapped_column(default=1)
    lease_seconds: Mapped[int] = mapped_column(default=600)
    strategy: Mapped[str] = mapped_column(String(32), default="random")
    retrain_every: Mapped[int] = mapped_column(default=20)
    # The label set is an ordered scale (e.g. 1-5 stars): agreement uses ordinal alpha.
    labels_ordered: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How answers become one label (labeler.quality.consensus.METHODS), and the
    # confidence under which an item goes to adjudication (migration 0009).
    consensus_method: Mapped[str] = mapped_column(String(16), default="mv", server_default="mv")
    adjudication_threshold: Mapped[float] = mapped_column(
        Float, default=0.6, server_default=text("0.6")
    )
    # Share of a rater's ``next`` calls that serve a gold item they have not answered.
    gold_rate: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    # Active learning also trains on weak labels (label model, propagation) at least
    # this confident, for items without a human label, weighted by their confidence.
    train_on_weak: Mapped[bool] = mapped_column(default=False, server_default=false())
    weak_min_confidence: Mapped[float] = mapped_column(
        Float, default=0.9, server_default=text("0.9")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    labels: Mapped[list[Label]] = relationship(
        back_populates="project", order_by="Label.position", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name}>"


class Label(db.Model):  # type: ignore[name-defined]
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        UniqueConstraint("project_id", "hotkey"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    hotkey: Mapped[str] = mapped_column(String(1))
    position: Mapped[int] = mapped_column()

    project: Mapped[Project] = relationship(back_populates="labels")


class Membership(db.Model):  # type: ignore[name-defined]
    __tablename__ = "memberships"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    project: Mapped[Project] = relationship(back_populates="memberships")
