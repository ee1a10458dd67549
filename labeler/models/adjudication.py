"""Adjudication: an expert's final label for a disputed item, and the flags that ask for one.

A decision is never overwritten: deciding again adds a row, and the newest row of
an item is its current decision (the export's final label, winning over every
other source). ``reason`` records why the item was in the queue when it was
decided (tie, low_confidence, flagged) or ``manual`` when it was not.

A ``ReviewFlag`` asks for a look at an item whatever its answers say (e.g.
confident learning's likely mislabels); one per item, replaced when flagged again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import UTCDateTime, utcnow

ITEM_ID = BigInteger().with_variant(db.Integer, "sqlite")

#: Why an item was adjudicated.
REASONS = ("tie", "low_confidence", "flagged", "manual")


class Adjudication(db.Model):  # type: ignore[name-defined]
    """One decision on one item; the item's newest decision is the current one."""

    __tablename__ = "adjudications"

    id: Mapped[int] = mapped_column(ITEM_ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(
        ITEM_ID, ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    # A label name of the project (renamed with the label).
    label: Mapped[str] = mapped_column(String(120))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # tie | low_confidence | flagged | manual
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class ReviewFlag(db.Model):  # type: ignore[name-defined]
    """A request to adjudicate an item, with why (shown to the adjudicator) and a score."""

    __tablename__ = "review_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(
        ITEM_ID, ForeignKey("items.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text)
    # Higher first among equally disputed items (e.g. cleanlab's label-issue score).
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
