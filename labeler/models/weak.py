"""Weak supervision state: what has been applied, and what the label model and
propagation concluded.

``LFApplyState`` makes applying incremental: the votes of one LF version are
complete for every item whose id is at most ``applied_upto`` (item ids only grow),
so new items are applied alone, and a changed LF (a new version row) alone.
An item whose data a re-import changed is listed in ``WeakDirtyItem`` until
the next apply has re-applied the LFs to it.

``WeakRun`` is one fit of the label model (``kind="label_model"``) or one
propagation (``kind="propagation"``): the LF versions used, the options and
the metrics. ``WeakResult`` holds its per-item answer: the label index (``-1``
when there is none: a tie, or an item no LF covers, ``covered`` false), the
confidence, and for label-model runs the class probabilities as a float32
blob (k values, little-endian). Readers take the newest ``done`` run of a
kind, so a new run replaces the old one at the commit that marks it done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import JSONType, UTCDateTime, utcnow

ITEM_ID = BigInteger().with_variant(db.Integer, "sqlite")


class LFApplyState(db.Model):  # type: ignore[name-defined]
    """How far one LF version has been applied, and what went wrong if anything."""

    __tablename__ = "lf_apply_state"

    lf_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_functions.id", ondelete="CASCADE"), primary_key=True
    )
    # Votes are complete for items with id <= applied_upto (0: none yet).
    applied_upto: Mapped[int] = mapped_column(ITEM_ID, default=0)
    n_votes: Mapped[int] = mapped_column(default=0)
    # The LF raised or timed out (python LFs): its votes are left out of fits.
    error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WeakRun(db.Model):  # type: ignore[name-defined]
    """One label-model fit or one propagation of a project."""

    __tablename__ = "weak_runs"
    __table_args__ = (Index("ix_weak_runs_project", "project_id", "kind", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # label_model | propagation
    kind: Mapped[str] = mapped_column(String(16))
    # label_model | majority (fits); knn (propagation)
    method: Mapped[str] = mapped_column(String(32))
    # running -> done | failed
    status: Mapped[str] = mapped_column(String(16), default="running")
    # The LF version ids in the column order of L (fits); the seeds' run (propagation).
    lf_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "kind": self.kind,
            "method": self.method,
            "status": self.status,
            "lf_ids": list(self.lf_ids or []),
            "options": dict(self.options or {}),
            "metrics": self.metrics,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class WeakResult(db.Model):  # type: ignore[name-defined]
    """One item's answer in one run: label index (-1: none), confidence, probabilities."""

    __tablename__ = "weak_results"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("weak_runs.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ITEM_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[int] = mapped_column(SmallInteger)
    confidence: Mapped[float] = mapped_column(Float)
    # False: no LF voted on the item (label -1, uniform probabilities).
    covered: Mapped[bool] = mapped_column(default=True)
    proba: Mapped[bytes | None] = mapped_column(LargeBinary)


class WeakDirtyItem(db.Model):  # type: ignore[name-defined]
    """An item whose data changed (a re-import) since LFs voted on it: the next apply
    re-applies the used LFs to it, and older LF versions re-apply fully when used again."""

    __tablename__ = "weak_dirty_items"

    item_id: Mapped[int] = mapped_column(
        ITEM_ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
