"""Declared output shapes of the weak-supervision routes (open to new fields, like all outputs)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from labeler.web.schemas import Output


class LF(Output):
    id: int = Field(description="This version's id")
    name: str
    kind: str = Field(description="keyword, regex, threshold, lookup, python or external")
    version: int
    active: bool
    spec: dict[str, Any] | None
    created_at: str | None
    created_by: int | None
    applied_upto: int | None = Field(description="Votes are complete for items up to this id")
    n_votes: int | None
    applied_at: str | None
    error: str | None = Field(description="Why the LF failed when applied (python LFs)")


class LFSaved(LF):
    created: bool = Field(description="False: the definition equals the newest version")


class LFList(Output):
    lfs: list[LF]


class LFDetail(LF):
    source: str | None = Field(default=None, description="The uploaded file (python LFs)")
    versions: list[LF]


class LFSavedList(Output):
    lfs: list[LFSaved]


class ImportedLF(Output):
    name: str
    id: int
    n_votes: int


class MatrixImported(Output):
    n_rows: int
    lfs: list[ImportedLF]


class LFStatsRow(Output):
    name: str
    polarity: list[str]
    coverage: float
    overlaps: float
    conflicts: float
    emp_accuracy: float | None


class LFStats(Output):
    lfs: list[LFStatsRow]
    totals: dict[str, Any]
    n_human_labels: int


class MatchedItem(Output):
    id: str
    text: str | None = Field(description="The item's text field (shown data)")
    vote: str = Field(description="The label the LF votes")
    spans: list[list[int]] = Field(description="[start, end) character spans of the matches")
    human: str | None = Field(description="The human consensus label, if any")


class Preview(Output):
    n_items: int
    n_scanned: int = Field(description="Items the figures are computed on (a seeded sample)")
    exact: bool = Field(description="True when every item was scanned")
    coverage: float
    n_matched: int
    accuracy: float | None = Field(description="Against the human consensus so far")
    n_scored: int
    overlap: float
    conflict: float
    per_lf: list[dict[str, Any]] = Field(description="Overlaps and conflicts with each active LF")
    sample: list[MatchedItem]
    took_ms: float


class WeakRun(Output):
    id: int
    kind: str
    method: str
    status: str
    lf_ids: list[int]
    options: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str | None
    created_at: str | None
    finished_at: str | None


class WeakRuns(Output):
    label_model: WeakRun | None
    propagation: WeakRun | None


class Suggestion(Output):
    spec: dict[str, Any] = Field(description="A keyword LF spec, ready for POST .../lfs")
    label: str
    words: list[str]
    precision: float = Field(description="On the labeled items it matches")
    support: int = Field(description="Labeled items it matches")
    coverage: float = Field(description="Share of the unlabeled items it matches")


class Suggestions(Output):
    suggestions: list[Suggestion]
    n_labeled: int = Field(description="Items with a human consensus label")
    n_items: int
    n_scanned: int = Field(description="Items the figures are computed on (a seeded sample)")
    exact: bool = Field(description="True when every item was scanned")
