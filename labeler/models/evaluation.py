"""Evaluation data: gold answers and weak-supervision votes, kept out of ``items.data``.

What a rater receives is an item's shown data only (DESIGN.md). Gold answers
(for rater quality and model evaluation) and labeling-function votes therefore
live in their own tables, which no rater-facing query reads.

``WeakVoteBlock`` stores the label matrix ``L`` sparsely: per LF version and
range of item ids, the non-abstain votes packed into two arrays (``-1``,
abstain, is the absence of an entry), a vote being the label's index in the
project's ordered label set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text, UniqueConstraint
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


class WeakVoteBlock(db.Model):  # type: ignore[name-defined]
    """The votes of one LF version on the items with ids in ``[lo, hi]``, packed.

    Sparse: only non-abstain votes are in it (``items``: uint32 offsets from ``lo``,
    ascending; ``votes``: int16 label indexes, same order). A block is the whole truth
    for its range: an item of the range that is not in it, the LF abstained on. An
    apply writes one block per LF and chunk of items (one row instead of thousands:
    1,000,000 items x 50 LFs is about 10,000 rows, where a row per vote was ~20
    million and took longer to insert than everything else in the weak round).
    ``labeler.services.weak.votes`` is the only module that reads or writes them.
    """

    __tablename__ = "weak_vote_blocks"

    lf_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_functions.id", ondelete="CASCADE"), primary_key=True
    )
    lo: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True
    )
    hi: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    n: Mapped[int] = mapped_column()
    items: Mapped[bytes] = mapped_column(LargeBinary)
    votes: Mapped[bytes] = mapped_column(LargeBinary)
