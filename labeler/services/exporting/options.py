"""What an export may ask for, declared once for the CLI, the REST query and the UI form.

``GET /api/v1/projects/<pid>/export`` validates its query string with
:class:`ExportOptions`, ``labeler export`` builds the same model from its
options, and the project page's form posts the same names; so all three refuse
the same values with the same message naming the field.

>>> opts = check(ExportOptions, {"sources": "human,label_model", "split": "0.8,0.1,0.1"})
>>> opts.source_list(), opts.split_fractions()
(('human', 'label_model'), (0.8, 0.1, 0.1))
>>> check(ExportOptions, {"split": "0.8,0.3,0.1"})
Traceback (most recent call last):
...
labeler.services.errors.BadInput: split: Value error, the three fractions must sum to 1 (they sum to 1.2)
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from labeler.services.inputs import Input, check

__all__ = ["FORMATS", "METHODS", "SOURCES", "ExportOptions", "check"]

#: format -> media type of the streamed response (hf is a directory: a zip over HTTP).
FORMATS: dict[str, str] = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "label-studio": "application/json",
    "hf": "application/zip",
}
SOURCES: tuple[str, ...] = ("adjudicated", "human", "label_model", "propagation")
METHODS: tuple[str, ...] = ("mv", "wawa", "dawid-skene")
SEED_MAX = 2**31 - 1


class ExportOptions(Input):
    """The options of an export (all optional; the defaults are DESIGN.md's row)."""

    # Query strings and form fields are text: "0.7" is a number, "false" a boolean here.
    model_config = ConfigDict(strict=False, extra="ignore", regex_engine="python-re")

    format: Literal[tuple(FORMATS)] = "jsonl"  # type: ignore[valid-type]
    consensus: Literal[METHODS] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="How raters' answers make the human label; default: the project's setting",
    )
    sources: str = Field(
        default=",".join(SOURCES),
        max_length=64,
        description="Comma-separated sources a final label may come from, in priority order "
        "adjudicated > human > label_model > propagation",
    )
    min_confidence: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.0,
        description="A final label with a lower confidence is left out: the row stays, with "
        "label, source and confidence null",
    )
    annotations: bool = Field(default=True, description="Include each rater's answers")
    lf_votes: bool = Field(
        default=False, description="Include each labeling function's vote (engineers only)"
    )
    split: str | None = Field(
        default=None,
        max_length=40,
        description="Add a split column: train,dev,test fractions such as 0.8,0.1,0.1 "
        "(stratified by final label, balanced per class)",
    )
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = Field(
        default=0, description="The split's seed: the same seed gives the same split"
    )

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in SOURCES]
        if unknown or not names:
            raise ValueError(f"give one or more of {', '.join(SOURCES)}, comma-separated")
        return ",".join(s for s in SOURCES if s in names)

    @field_validator("split")
    @classmethod
    def _split(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parts = [float(p) for p in value.split(",")]
        except ValueError:
            raise ValueError("give three numbers train,dev,test such as 0.8,0.1,0.1") from None
        if len(parts) != 3 or not all(math.isfinite(p) and 0 <= p <= 1 for p in parts):
            raise ValueError("give three fractions between 0 and 1: train,dev,test")
        if abs(sum(parts) - 1) > 1e-6:
            raise ValueError(f"the three fractions must sum to 1 (they sum to {sum(parts):g})")
        return ",".join(repr(p) for p in parts)

    def source_list(self) -> tuple[str, ...]:
        return tuple(self.sources.split(","))

    def split_fractions(self) -> tuple[float, float, float] | None:
        if self.split is None:
            return None
        a, b, c = (float(p) for p in self.split.split(","))
        return a, b, c

    def as_manifest(self) -> dict[str, Any]:
        """The options as the manifest records them."""
        return self.model_dump()
