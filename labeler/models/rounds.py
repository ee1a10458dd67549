"""Active-learning rounds: retrain on the labels so far and re-rank the pool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import JSONType, UTCDateTime, utcnow

IN_FLIGHT = ("queued", "running")


class TrainingRound(db.Model):  # type: ignore[name-defined]
    __tablename__ = "training_rounds"
    __table_args__ = (
        # At most one round per project in flight: later triggers coalesce into it.
        Index(
            "uq_training_rounds_in_flight",
            "project_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_training_rounds_project", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    strategy: Mapped[str] = mapped_column(String(32))
    strategy_used: Mapped[str | None] = mapped_column(String(32))
    cold_start: Mapped[bool] = mapped_column(default=False)
    # The newest annotation id the round saw: "labels since the last round" counts from here.
    max_annotation_id: Mapped[int] = mapped_column(default=0)
    n_labels: Mapped[int | None] = mapped_column()
    n_ranked: Mapped[int | None] = mapped_column()
    # Weak labels (label model, propagation) the round trained on (project.train_on_weak).
    n_weak_labels: Mapped[int | None] = mapped_column()
    cv_accuracy: Mapped[float | None] = mapped_column(Float)
    cv_macro_f1: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(default=0)
    info: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "status": self.status,
            "trigger": self.trigger,
            "strategy": self.strategy,
            "strategy_used": self.strategy_used,
            "cold_start": self.cold_start,
            "n_labels": self.n_labels,
            "n_ranked": self.n_ranked,
            "n_weak_labels": self.n_weak_labels,
            "cv_accuracy": self.cv_accuracy,
            "cv_macro_f1": self.cv_macro_f1,
            "duration_s": self.duration_s,
            "info": self.info,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }
