"""Import items (CSV, JSONL, Label Studio, WRENCH) and annotations (CSV).

``readers`` turn bytes into rows and problems and know nothing of projects or
databases; ``batch`` and ``publish`` write items, ``annotations`` writes human
labels. Every import is all or nothing and can be repeated:

- a bad row anywhere imports nothing, and the error names the line and the
  field (up to ``MAX_ERRORS`` of them);
- rows are matched to items by external id, so importing a file again creates
  nothing, and a row whose data changed updates its item;
- hidden fields (gold answers, weak-label votes) go to their own tables, never
  into the data raters receive;
- an item import is staged and published in short transactions (``batch``),
  so a big upload never holds SQLite's single write lock for long;
- new items, and items whose text changed (their old vectors are dropped), are
  queued for embedding (``vectors.request_embedding``), in the CLI as in workers.

CSV and JSONL are streamed: memory holds one chunk plus a 16-byte digest per id
seen (to catch duplicates), never the file.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, BinaryIO

from labeler.models import Project
from labeler.services import vectors
from labeler.services.errors import BadInput
from labeler.services.importing.annotations import AnnotationImport
from labeler.services.importing.batch import import_rows, recover
from labeler.services.importing.common import (
    MAX_ERRORS,
    AnnotationImportResult,
    ImportResult,
    Problems,
    hints_of,
    source_name,
)
from labeler.services.importing.readers import READERS, Problem, read
from labeler.services.importing.readers.annotations import vote_rows
from labeler.services.importing.readers.jsonl import record_rows
from labeler.services.importing.readers.label_studio import label_studio_votes

FORMATS = tuple(READERS)
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "label-studio"}

__all__ = [
    "FORMATS",
    "MAX_ERRORS",
    "AnnotationImportResult",
    "ImportResult",
    "check_format",
    "guess_format",
    "import_annotations",
    "import_file",
    "import_records",
    "recover",
]


def guess_format(filename: str) -> str:
    """The import format for ``filename``, from its extension."""
    fmt = _EXTENSIONS.get(PurePath(filename or "").suffix.lower())
    if fmt is None:
        raise BadInput(
            f"cannot tell the format of {filename!r} from its extension; "
            f"name one of: {', '.join(FORMATS)}",
            {"field": "format", "allowed": list(FORMATS)},
        )
    return fmt


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise BadInput(
            f"unknown import format {fmt!r}; use one of: {', '.join(FORMATS)}",
            {"field": "format", "allowed": list(FORMATS)},
        )


def import_file(
    project: Project,
    stream: BinaryIO,
    fmt: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the items in ``stream`` (bytes in format ``fmt``) into ``project``.

    Raises BadInput with ``details={"errors": [...], "truncated": bool}`` when any
    row is bad; then nothing is imported. ``progress(n)`` gets the rows read so far.
    """
    check_format(fmt)
    if fmt == "label-studio":
        return _import_label_studio(project, stream, progress)
    rows = read(fmt, stream, hints_of(project))
    return _embed_after(project, import_rows(project, rows, source_name(stream), progress=progress))


def _import_label_studio(
    project: Project, stream: BinaryIO, progress: Callable[[int], None] | None
) -> ImportResult:
    """Tasks, then the answers in their ``annotations`` (raters created as needed).

    The answers are checked before any item is written, so a bad answer imports
    nothing. The document is read whole (as the item reader does anyway).
    """
    source = source_name(stream)
    raw = stream.read()
    votes = list(label_studio_votes(io.BytesIO(raw), set(project.label_names)))
    problems = Problems(source, "line")
    for vote in votes:
        if isinstance(vote, Problem):
            problems.add(vote)
    problems.raise_if_any()
    rows = read("label-studio", io.BytesIO(raw), hints_of(project))
    result = _embed_after(project, import_rows(project, rows, source, progress=progress))
    if votes:
        AnnotationImport(project, source).run(votes)
    return result


def import_records(
    project: Project, records: list[dict[str, Any]], *, gold_source: str | None = None
) -> ImportResult:
    """Import items given as a JSON list (the REST API); each is checked like a JSONL line.

    In errors, ``line`` is the record's 1-based position in the list. ``gold_source``
    names where ``_gold`` answers come from (default ``import``).
    """
    if not isinstance(records, list):
        raise BadInput("send a JSON list of items")
    return _embed_after(
        project,
        import_rows(
            project, record_rows(records), "the request", unit="item", gold_source=gold_source
        ),
    )


def _embed_after(project: Project, result: ImportResult) -> ImportResult:
    """New or changed items get their vectors from an embed job, whoever imported them."""
    if result.created or result.updated:
        vectors.request_embedding(project)
    return result


def import_annotations(project: Project, stream: BinaryIO) -> AnnotationImportResult:
    """Import human labels from a CSV with columns ``item_id,rater,label``.

    Optional columns: ``created_at`` (ISO 8601), ``duration_ms``. Raters missing
    from the database are created (role rater) and made members of ``project``.
    A rater's changed label retracts their old one (history is kept).
    """
    rows = vote_rows(stream, set(project.label_names))
    return AnnotationImport(project, source_name(stream)).run(rows)
