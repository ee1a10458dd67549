"""Item imports as batches: stage every row, then publish, in short transactions.

One transaction per upload kept imports all-or-nothing, but on SQLite (one
writer, taken at BEGIN) a 1,000,000-row upload locked every rater and job poll
out for over a minute. A batch keeps both promises:

1. **stage**: rows are read, checked and written to ``import_rows`` in chunks of
   ``LABELER_IMPORT_CHUNK``, one short transaction each. No rater-facing query
   reads that table, so a pending batch is invisible by construction. Parsing
   happens between transactions, never inside one.
2. a bad row anywhere (or a crash) and the batch is **discarded**: marked
   ``failed``, its staged rows deleted in chunks; ``items`` was never touched.
3. **publish** (only once the whole file is valid): ``publish.publish_chunk``
   moves staged rows into ``items``, ``gold_labels`` and ``weak_votes`` a chunk
   per transaction and advances the batch's cursor in the same transaction, so
   a publisher that dies is resumed exactly where it stopped (``recover``).

Between 3's first and last chunk a reader may see part of the batch: the file
was accepted whole, and the rest follows within seconds, even after a crash.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, insert, select, update

from labeler.extensions import db
from labeler.models import ImportBatch, ImportRow, Project
from labeler.models.types import utcnow
from labeler.services.errors import Conflict
from labeler.services.importing.common import (
    ImportResult,
    Problems,
    SeenKeys,
    chunk_size,
    hints_of,
)
from labeler.services.importing.publish import publish_chunk
from labeler.services.importing.readers import Hints, Problem, Row
from labeler.services.importing.readers.checks import check_row
from labeler.services.importing.readers.rows import Invalid

#: A pending or publishing batch not touched for this long was abandoned by its process.
STALE_SECONDS = 600


def import_rows(
    project: Project,
    rows: Iterable[Row | Problem],
    source: str,
    *,
    unit: str = "line",
    progress: Callable[[int], None] | None = None,
    gold_source: str | None = None,
) -> ImportResult:
    """Stage ``rows`` as a batch of ``project``, then publish it; all or nothing."""
    hints, project_id = hints_of(project), project.id
    # End the caller's transaction: on SQLite it holds the only write lock.
    db.session.commit()
    recover(project_id)
    batch_id = _new_batch(project_id, source)
    problems = Problems(source, unit)
    try:
        total = _Stager(batch_id, hints, problems, progress, gold_source).run(rows)
        if not total and not problems:
            problems.add(Problem(1, None, f"nothing to import: {source} is empty"))
        problems.raise_if_any()
        _start_publishing(batch_id)
    except BaseException as exc:
        db.session.rollback()
        discard(batch_id, str(exc) or type(exc).__name__)
        raise
    result = publish(batch_id)
    result.total = total
    return result


def _rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (a CursorResult's; typed as Result by the session)."""
    return int(result.rowcount)


def _new_batch(project_id: int, source: str) -> int:
    batch = ImportBatch(project_id=project_id, status="pending", source=source[:255])
    db.session.add(batch)
    db.session.commit()
    return int(batch.id)


class _Stager:
    """Checks rows and writes them to ``import_rows``, a chunk per transaction.

    After the first problem nothing more is written, but reading goes on so the
    error can list up to MAX_ERRORS problems.
    """

    def __init__(
        self,
        batch_id: int,
        hints: Hints,
        problems: Problems,
        progress: Callable[[int], None] | None,
        gold_source: str | None,
    ) -> None:
        self.batch_id, self.hints, self.problems = batch_id, hints, problems
        self.progress, self.gold_source = progress, gold_source
        self.seen = SeenKeys()
        self.size = chunk_size()
        self.total = self.staged = 0

    def run(self, rows: Iterable[Row | Problem]) -> int:
        chunk: list[Row] = []
        for row in rows:
            if isinstance(row, Problem):
                self.problems.add(row)
            else:
                self.total += 1
                try:
                    check_row(self.hints, row)
                    chunk.append(row)
                except Invalid as exc:
                    self.problems.add(exc.at(row.line))
                if self.total % self.size == 0:
                    self._flush(chunk)
                    chunk = []
            if self.problems.truncated:
                return self.total
        if self.total % self.size:
            self._flush(chunk)
        return self.total

    def _flush(self, chunk: list[Row]) -> None:
        repeated = self.seen.add([row.external_id for row in chunk])
        for row in itertools.compress(chunk, repeated):
            message = f"duplicate id {row.external_id!r}: an earlier line has it too"
            self.problems.add(Problem(row.line, "id", message))
        if chunk and not self.problems:
            self._write(chunk)
        if self.progress is not None:
            self.progress(self.total)

    def _write(self, chunk: list[Row]) -> None:
        values = [
            {
                "batch_id": self.batch_id,
                "seq": self.staged + k,
                "external_id": row.external_id,
                "data": row.data,
                "priority": row.priority,
                "gold": row.gold,
                "gold_source": (self.gold_source or row.gold_source) if row.gold else None,
                "votes": row.votes,
            }
            for k, row in enumerate(chunk)
        ]
        alive = _rowcount(
            db.session.execute(
                update(ImportBatch)
                .where(ImportBatch.id == self.batch_id, ImportBatch.status == "pending")
                .values(n_rows=self.staged + len(chunk), updated_at=utcnow())
            )
        )
        if not alive:
            db.session.rollback()
            raise Conflict("this import was abandoned (no progress for too long); run it again")
        db.session.execute(insert(ImportRow), values)
        db.session.commit()
        self.staged += len(chunk)


def _start_publishing(batch_id: int) -> None:
    started = _rowcount(
        db.session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.status == "pending")
            .values(status="publishing", updated_at=utcnow())
        )
    )
    db.session.commit()
    if not started:
        raise Conflict("this import was abandoned (no progress for too long); run it again")


def publish(batch_id: int) -> ImportResult:
    """Publish a ``publishing`` batch to the end (or resume it); returns its counts.

    On SQLite the publisher pauses between chunks as long as the chunk took:
    SQLite's lock is not fair (a waiting connection polls, up to every 100 ms), so
    back-to-back transactions would starve everyone else until the end.
    """
    sqlite = db.engine.dialect.name == "sqlite"
    while True:
        start = time.perf_counter()
        if publish_chunk(batch_id, chunk_size()):
            break
        if sqlite:
            time.sleep(time.perf_counter() - start)
    batch = db.session.get(ImportBatch, batch_id, populate_existing=True)
    db.session.commit()
    assert batch is not None
    return ImportResult(batch.n_created, batch.n_updated, batch.n_unchanged, batch.n_rows)


def discard(batch_id: int, error: str) -> None:
    """Fail a pending batch and delete its staged rows in chunks (never a publishing one)."""
    failed = _rowcount(
        db.session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id, ImportBatch.status == "pending")
            .values(status="failed", error=error[:2000], updated_at=utcnow())
        )
    )
    db.session.commit()
    if not failed:
        return
    step = 5 * chunk_size()
    start = 0
    while True:
        gone = _rowcount(
            db.session.execute(
                delete(ImportRow).where(
                    ImportRow.batch_id == batch_id,
                    ImportRow.seq >= start,
                    ImportRow.seq < start + step,
                )
            )
        )
        more = db.session.scalar(
            select(ImportRow.seq).where(ImportRow.batch_id == batch_id).limit(1)
        )
        db.session.commit()
        if not gone and more is None:
            return
        start += step


def recover(project_id: int | None = None, *, stale_seconds: float | None = None) -> list[int]:
    """Clean up batches whose process died: discard pending ones, finish publishing ones.

    Runs before each import of the project (cheap: an index lookup); returns the
    batch ids it handled.
    """
    if stale_seconds is None:
        stale_seconds = float(current_app.config.get("LABELER_IMPORT_STALE_SECONDS", STALE_SECONDS))
    cutoff = utcnow() - timedelta(seconds=stale_seconds)
    query: Any = select(ImportBatch.id, ImportBatch.status).where(
        ImportBatch.status.in_(("pending", "publishing")), ImportBatch.updated_at <= cutoff
    )
    if project_id is not None:
        query = query.where(ImportBatch.project_id == project_id)
    stale = db.session.execute(query.order_by(ImportBatch.id)).all()
    db.session.commit()
    for batch_id, status in stale:
        if status == "pending":
            discard(batch_id, "abandoned: the importing process stopped")
        else:
            publish(batch_id)
    return [batch_id for batch_id, _ in stale]
