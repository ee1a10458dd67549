"""What an export may ask for, declared once for the CLI, the REST query and the UI form.

``GET /api/v1/projects/<pid>/export`` validates its query string with
:class:`ExportOptions`, ``labeler export`` builds the same model from its
options, and the project page's form posts the same names; so all three refuse
the same values with the same message naming the field.

>>> opts = check(ExportOptions, {"sources": "human,label_model", "split": "0.8,0.1,0.1"})
>>> opts.source_list(), opts.split_fractions()
(('human', 'label_model'), (0.8, 0.1, 0.1))
>>> check(ExportOptions, {"split": "8,1,1"}).split
'0.8,0.1,0.1'
>>> check(ExportOptions, {"split": "0,1,1"})
Traceback (most recent call last):
...
labeler.services.errors.BadInput: split: Value error, give three weights train,dev,test such as 0.8,0.1,0.1 (train above 0)
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from labeler.services.inputs import check
from labeler.services.queries import QueryInput

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
_SOURCE = "(?:" + "|".join(SOURCES) + ")"
# The documented patterns are the whole rule, so a value the document allows is accepted.
SOURCES_PATTERN = rf"^{_SOURCE}(?:,{_SOURCE})*$"
_NUM = r"[0-9]{1,6}(?:\.[0-9]{1,6})?"
# At least one non-zero digit in the train weight: a split needs a train part.
_POSITIVE = r"(?:[0-9]{0,5}[1-9][0-9]{0,5}(?:\.[0-9]{1,6})?|[0-9]{1,6}\.[0-9]{0,5}[1-9][0-9]{0,5})"
SPLIT_PATTERN = rf"^(?:{_POSITIVE},{_NUM},{_NUM})?$"  # empty: no split (a blank form field)


class ExportOptions(QueryInput):
    """The options of an export (all optional; the defaults are DESIGN.md's row)."""

    format: Literal[tuple(FORMATS)] = "jsonl"  # type: ignore[valid-type]
    consensus: Literal[METHODS] | None = Field(  # type: ignore[valid-type]
        default=None,
        description="How raters' answers make the human label; default: the project's setting",
    )
    sources: str = Field(
        default=",".join(SOURCES),
        max_length=64,
        json_schema_extra={"pattern": SOURCES_PATTERN},
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
        json_schema_extra={"pattern": SPLIT_PATTERN},
        description="Add a split column: train,dev,test weights such as 0.8,0.1,0.1 or 8,1,1 "
        "(normalized; stratified by final label, balanced per class)",
    )
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = Field(
        default=0, description="The split's seed: the same seed gives the same split"
    )

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: str) -> str:
        if not re.fullmatch(SOURCES_PATTERN, value):
            raise ValueError(f"give one or more of {', '.join(SOURCES)}, comma-separated")
        names = value.split(",")
        return ",".join(s for s in SOURCES if s in names)  # priority order, once each

    @field_validator("split")
    @classmethod
    def _split(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.fullmatch(SPLIT_PATTERN, value):
            raise ValueError(
                "give three weights train,dev,test such as 0.8,0.1,0.1 (train above 0)"
            )
        parts = [float(p) for p in value.split(",")]
        return ",".join(repr(round(p / sum(parts), 12)) for p in parts)

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
