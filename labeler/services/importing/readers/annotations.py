"""Annotation CSV: columns ``item_id,rater,label`` (and optional ``created_at``, ``duration_ms``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from labeler.services.importing.readers.csv import CsvRecords
from labeler.services.importing.readers.lines import Lines
from labeler.services.importing.readers.rows import INTEGER, Invalid, Problem, attempt

MAX_RATER_LENGTH = 80  # User.name
MAX_DURATION_MS = 2**31 - 1  # Annotation.duration_ms is a 32-bit integer


@dataclass(slots=True)
class Vote:
    line: int
    item: str
    rater: str
    label: str | None  # None for a skip or an unsure answer
    created_at: datetime | None
    duration_ms: int | None
    kind: str = "label"


def vote_rows(stream: BinaryIO, labels: set[str]) -> Iterator[Vote | Problem]:
    """Human labels of a CSV file, checked against the label set ``labels``.

    >>> import io
    >>> rows = list(vote_rows(io.BytesIO(b"item_id,rater,label\\na,ann,pos\\n"), {"pos"}))
    >>> (rows[0].item, rows[0].rater, rows[0].label)
    ('a', 'ann', 'pos')
    """
    lines = Lines(stream)
    names: list[str] | None = None
    rows = 0
    records = CsvRecords(lines)
    for record in records:
        if isinstance(record, Problem):
            yield record
            continue
        line, fields = record
        if names is None:
            names = [name.strip() for name in fields]
            missing = [c for c in ("item_id", "rater", "label") if c not in names]
            for column in missing:
                yield Problem(line, column, f"the header has no column {column!r}")
            if missing:
                return
            continue
        rows += 1
        if len(fields) != len(names):
            yield Problem(line, None, f"{len(fields)} fields where the header has {len(names)}")
        else:
            yield attempt(line, _vote, dict(zip(names, fields, strict=True)), line, labels)
    if names is not None and rows == 0 and not records.broken:
        yield Problem(lines.lineno + 1, None, "nothing to import: the file has only a header")


def _vote(values: dict[str, str], line: int, labels: set[str]) -> Vote:
    item, rater, label = (values[c].strip() for c in ("item_id", "rater", "label"))
    if not item:
        raise Invalid("item_id", "the item id is empty")
    if not rater or len(rater) > MAX_RATER_LENGTH:
        raise Invalid("rater", f"the rater name must be 1 to {MAX_RATER_LENGTH} characters")
    if label not in labels:
        allowed = ", ".join(sorted(labels))
        raise Invalid("label", f"{label!r} is not one of the project's labels ({allowed})")
    return Vote(
        line,
        item,
        rater,
        label,
        _timestamp(values.get("created_at", "")),
        _duration(values.get("duration_ms", "")),
    )


def _timestamp(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("created_at", f"{text!r} is not an ISO 8601 date and time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _duration(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not INTEGER.fullmatch(text) or not 0 <= int(text) <= MAX_DURATION_MS:
        raise Invalid("duration_ms", f"duration_ms must be a whole number >= 0, not {text!r}")
    return int(text)
