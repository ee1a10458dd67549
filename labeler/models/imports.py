"""Import batches: an upload is staged apart from ``items``, then published in chunks.

SQLite has one writer, so one transaction per upload would lock every rater
out for as long as the upload takes. Instead, rows are checked and written to
``import_rows`` (a table no rater-facing query reads) in short transactions;
only when the whole file is valid does the batch become ``publishing``, and
its rows are moved into ``items`` in short chunks, each of which also advances
``published_upto``, so a publisher that dies is resumed where it stopped.
Staged rows are outside ``items``, so no query of the queue, progress, export
or item lookup can see a pending batch, nor has to remember to filter it out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import JSONType, UTCDateTime, utcnow

# pending (staging) -> publishing -> published | failed
BATCH_STATUSES = ("pending", "publishing", "published", "failed")


class ImportBatch(db.Model):  # type: ignore[name-defined]
    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_project", "project_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    source: Mapped[str] = mapped_column(String(255), default="")
    # Rows staged; rows with seq < published_upto are in items.
    n_rows: Mapped[int] = mapped_column(default=0)
    published_upto: Mapped[int] = mapped_column(default=0)
    n_created: Mapped[int] = mapped_column(default=0)
    n_updated: Mapped[int] = mapped_column(default=0)
    n_unchanged: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A heartbeat: a pending or publishing batch not touched for long was abandoned.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportRow(db.Model):  # type: ignore[name-defined]
    """One checked row of a batch, waiting to be published."""

    __tablename__ = "import_rows"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # None keeps the stored priority (0.0 for a new item).
    priority: Mapped[float | None] = mapped_column(Float)
    # Hidden evaluation data, published to gold_labels and weak_votes.
    gold: Mapped[str | None] = mapped_column(String(120))
    gold_source: Mapped[str | None] = mapped_column(String(16))
    # WRENCH weak labels: one vote per column, -1 = abstain.
    votes: Mapped[list[int] | None] = mapped_column(JSONType)
