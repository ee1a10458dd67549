"""Evaluation data: gold answers and weak-supervision votes, kept out of ``items.data``.

What a rater receives is an item's shown data only (DESIGN.md). Gold answers
(for rater quality and model evaluation) and labeling-function votes therefore
live in their own tables, which no rater-facing query reads.

``WeakVote`` stores the label matrix ``L`` sparsely: one row per non-abstain
vote (``-1``, abstain, is the absence of a row), the vote being the label's
index in the project's ordered label set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import JSONType, UTCDateTime, utcnow


class GoldLabel(db.Model):  # type: ignore[name-defined]
    """The known answer of one item: never a human annotation, never shown to raters."""

    __tablename__ = "gold_labels"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    # A label name of the project.
    label: Mapped[str] = mapped_column(String(120))
    # Where it came from: import, wrench, demo.
    source: Mapped[str] = mapped_column(String(16), default="import")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LabelingFunction(db.Model):  # type: ignore[name-defined]
    """One version of a voter on a project's items.

    ``external``: votes imported with the data (WRENCH). Declarative kinds
    (keyword, regex, threshold, lookup) keep their definition in ``spec`` (what
    ``labeler.weak.lf.lf_from_spec`` takes, the label by name); ``python`` keeps
    the uploaded file in ``source`` and the function's name in ``spec``. A save
    is a new row with the next ``version``; old versions (and their votes) stay.
    ``active`` is per name: the services switch every version of a name together.
    """

    __tablename__ = "labeling_functions"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="external")
    version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    source: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WeakVote(db.Model):  # type: ignore[name-defined]
    """One non-abstain vote: ``vote`` is an index into the project's label set."""

    __tablename__ = "weak_votes"
    __table_args__ = (Index("ix_weak_votes_item", "item_id"),)

    lf_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_functions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"),
        ForeignKey("items.id", ondelete="CASCADE"),
        primary_key=True,
    )
    vote: Mapped[int] = mapped_column()
