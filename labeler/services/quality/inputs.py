"""What an agreement or adjudication request may ask for, declared once for the API and the CLI.

The route validates its query string with :class:`AgreementQuery`; the
``agreement`` command builds the same model from its options, so both refuse
the same values with the same message naming the field. The adjudication queue's
page (:class:`AdjudicationQuery`) and a decision (:class:`NewDecision`) are
declared here too, so the service checks what the API checks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from labeler.services.inputs import USER_NAME_MAX, Input, LabelName, Note
from labeler.services.queries import QueryInput

__all__ = [
    "AdjudicationQuery",
    "AgreementQuery",
    "MAX_BOOT",
    "MAX_QUEUE_PAGE",
    "MAX_RATERS",
    "MAX_TOP",
    "NewDecision",
    "NewFlag",
]

MAX_RATERS = 100
# Two of the longest names and a comma. Longer lists of shorter names fit too; the bound
# keeps every valid query string under gunicorn's 4 KB request line even when each
# character is a 4-byte UTF-8 one, percent-encoded (x12).
MAX_RATERS_CHARS = 2 * USER_NAME_MAX + 1
MAX_TOP = 1000
MAX_BOOT = 2000
MAX_QUEUE_PAGE = 100
MAX_QUEUE_OFFSET = 1_000_000


def _utc(value: datetime | None) -> datetime | None:
    """A naive time is UTC; an aware one is converted (the database keeps UTC)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text (or a datetime, from Python): lax pydantic would also take a
    number as seconds since 1970, which the API's document does not offer."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("an ISO 8601 date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z")
    return value


When = Annotated[datetime | None, BeforeValidator(_iso_text), AfterValidator(_utc)]


class AgreementQuery(QueryInput):
    """The query string of ``GET /api/v1/projects/<pid>/agreement`` (all optional)."""

    label: LabelName | None = Field(
        default=None, description="One class: its agreement one-vs-rest"
    )
    raters: str | None = Field(
        default=None,
        max_length=MAX_RATERS_CHARS,
        description="Only these raters' answers: comma-separated names (e.g. a pair)",
    )
    since: When = Field(default=None, description="Answers created at or after (ISO 8601)")
    until: When = Field(default=None, description="Answers created before (ISO 8601)")
    level: Literal["nominal", "ordinal"] | None = Field(
        default=None, description="Krippendorff's alpha level; default: the label set's"
    )
    threshold: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.7, description="Raters agreeing with the others' consensus less are flagged"
    )
    min_scored: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    dawid_skene: Literal["auto", "on", "off"] = "auto"
    top: Annotated[int, Field(ge=0, le=MAX_TOP)] = Field(
        default=20, description="How many of the most disputed items to list"
    )
    bootstrap: Annotated[int, Field(ge=0, le=MAX_BOOT)] = Field(
        default=200, description="Bootstrap replicates for the human-level intervals"
    )
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0

    @field_validator("raters")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [n.strip() for n in value.split(",")]
        if not all(names) or len(names) > MAX_RATERS:
            raise ValueError(f"give 1 to {MAX_RATERS} comma-separated rater names")
        if any(len(n) > USER_NAME_MAX for n in names):
            raise ValueError(f"a rater name has at most {USER_NAME_MAX} characters")
        return ",".join(names)

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("until must be later than since")
        return value

    def rater_names(self) -> tuple[str, ...] | None:
        return tuple(dict.fromkeys(self.raters.split(","))) if self.raters else None

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~labeler.services.quality.agreement_report`."""
        return {
            "level": self.level,
            "threshold": self.threshold,
            "min_scored": self.min_scored,
            "dawid_skene_mode": self.dawid_skene,
            "top": self.top,
            "n_boot": self.bootstrap,
            "seed": self.seed,
        }


class AdjudicationQuery(QueryInput):
    """The query string of ``GET /api/v1/projects/<pid>/adjudication``: one page of the queue."""

    limit: Annotated[int, Field(ge=1, le=MAX_QUEUE_PAGE)] = Field(
        default=20, description="Entries per page"
    )
    offset: Annotated[int, Field(ge=0, le=MAX_QUEUE_OFFSET)] = Field(
        default=0, description="Entries to pass over (most disputed first)"
    )


class NewDecision(Input):
    """An adjudicator's final label for an item, with an optional note (why)."""

    label: LabelName = Field(description="A label of the project's set")
    note: Note = ""


class NewFlag(Input):
    """A request to adjudicate an item, with why (the adjudicator reads it)."""

    reason: Annotated[Note, Field(min_length=1)] = Field(
        description="Why the item needs an expert's decision"
    )
