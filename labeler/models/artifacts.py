"""The artifact store's default backend: blobs in the database.

A worker on another host then needs only the database and broker URLs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.types import UTCDateTime, utcnow


class Artifact(db.Model):  # type: ignore[name-defined]
    __tablename__ = "artifacts"
    __table_args__ = (Index("ix_artifacts_lookup", "project_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
