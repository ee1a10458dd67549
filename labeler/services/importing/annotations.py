"""Importing human labels (CSV ``item_id,rater,label``) into annotations.

One transaction per file, as before batches: annotation files are small next
to item files (one row per human answer), and every row needs the items to
exist already. A rater's changed label retracts their old one (history kept).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Membership, Project, User
from labeler.models.items import open_after
from labeler.models.types import utcnow
from labeler.services.errors import Conflict
from labeler.services.importing.common import (
    AnnotationImportResult,
    Problems,
    SeenKeys,
    chunk_size,
)
from labeler.services.importing.readers import Problem
from labeler.services.importing.readers.annotations import Vote
from labeler.services.users import get_or_create_rater


class AnnotationImport:
    def __init__(self, project: Project, source: str) -> None:
        self.project = project
        self.problems = Problems(source, "line")
        self.result = AnnotationImportResult()
        self.rater_ids: dict[str, int] = {}
        # A file gives one label per item and rater: the pairs seen so far.
        self.pairs = SeenKeys()

    def run(self, rows: Iterable[Vote | Problem]) -> AnnotationImportResult:
        try:
            self._consume(rows)
            if not self.result.total and not self.problems:
                message = f"nothing to import: {self.problems.source} is empty"
                self.problems.add(Problem(1, None, message))
            self.problems.raise_if_any()
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            raise Conflict(
                "the project changed during the import (another import or a rater wrote "
                "the same rows); nothing was imported, run the import again"
            ) from exc
        except BaseException:
            db.session.rollback()
            raise
        return self.result

    def _consume(self, rows: Iterable[Vote | Problem]) -> None:
        size = chunk_size()
        chunk: list[Vote] = []
        for row in rows:
            if isinstance(row, Problem):
                self.problems.add(row)
            else:
                self.result.total += 1
                chunk.append(row)
                if len(chunk) == size:
                    self._flush(chunk)
                    chunk = []
            if self.problems.truncated:
                return
        if chunk:
            self._flush(chunk)

    def _flush(self, chunk: list[Vote]) -> None:
        # Unknown items are found even after the first problem, to report them all.
        wanted = sorted({vote.item for vote in chunk})
        item_ids: dict[str, int] = {
            external_id: item_id
            for external_id, item_id in db.session.execute(
                select(Item.external_id, Item.id).where(
                    Item.project_id == self.project.id, Item.external_id.in_(wanted)
                )
            )
        }
        known = []
        for vote in chunk:
            if vote.item in item_ids:
                known.append((vote, item_ids[vote.item]))
            else:
                message = f"no item {vote.item!r} in the project"
                self.problems.add(Problem(vote.line, "item_id", message))
        repeated = self.pairs.add([f"{item_id}\x00{vote.rater}" for vote, item_id in known])
        for vote, _ in itertools.compress(known, repeated):
            message = (
                f"{vote.rater!r} labels item {vote.item!r} on an earlier line too; "
                "keep one row per item and rater"
            )
            self.problems.add(Problem(vote.line, "rater", message))
        if not self.problems:
            self._write(known)

    def _write(self, votes: list[tuple[Vote, int]]) -> None:
        raters = {vote.rater: self._rater_id(vote.rater) for vote, _ in votes}
        items = {item_id for _, item_id in votes}
        current = {
            (row.item_id, row.rater_id): row
            for row in db.session.execute(
                select(
                    Annotation.id,
                    Annotation.item_id,
                    Annotation.rater_id,
                    Annotation.kind,
                    Annotation.label,
                ).where(
                    Annotation.project_id == self.project.id,
                    Annotation.is_current,
                    Annotation.item_id.in_(sorted(items)),
                    Annotation.rater_id.in_(sorted(set(raters.values()))),
                )
            )
        }
        now = utcnow()
        new: list[dict[str, Any]] = []
        retracted: list[int] = []
        for vote, item_id in votes:
            old = current.get((item_id, raters[vote.rater]))
            if old is not None and old.kind == vote.kind and old.label == vote.label:
                self.result.unchanged += 1
                continue
            if old is not None:
                retracted.append(old.id)
            new.append(_new_annotation(self.project.id, item_id, raters[vote.rater], vote, now))
        if retracted:
            # Before the inserts: one current annotation per rater and item (unique index).
            db.session.execute(
                update(Annotation)
                .where(Annotation.id.in_(retracted))
                .values(is_current=False, retracted_at=now)
                .execution_options(synchronize_session=False)
            )
        if new:
            db.session.execute(insert(Annotation), new)
        self.result.updated += len(retracted)
        self.result.created += len(new) - len(retracted)
        _recount(self.project, items)

    def _rater_id(self, name: str) -> int:
        if name not in self.rater_ids:
            existed = db.session.scalar(select(User.id).where(User.name == name)) is not None
            user = get_or_create_rater(name)
            self.result.raters_created += not existed
            if db.session.get(Membership, (self.project.id, user.id)) is None:
                db.session.add(Membership(project_id=self.project.id, user_id=user.id))
                db.session.flush()
            self.rater_ids[name] = user.id
        return self.rater_ids[name]


def _new_annotation(
    project_id: int, item_id: int, rater_id: int, vote: Vote, now: datetime
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "item_id": item_id,
        "rater_id": rater_id,
        "kind": vote.kind,
        "label": vote.label,
        "duration_ms": vote.duration_ms,
        "origin": "import",
        "created_at": vote.created_at or now,
        "is_current": True,
    }


def _recount(project: Project, item_ids: set[int]) -> None:
    """Recompute n_done and is_open of ``item_ids`` from their current annotations.

    Run after every chunk: a later chunk may touch the same item again, and then
    recounts it again, so the last recount of each item sees its final state.
    """
    done = (
        select(func.count(Annotation.id))
        .where(
            Annotation.item_id == Item.id,
            Annotation.is_current,
            Annotation.kind != AnnotationKind.SKIP.value,
        )
        .correlate(Item)
        .scalar_subquery()
    )
    db.session.execute(
        update(Item)
        .where(Item.id.in_(sorted(item_ids)))
        .values(n_done=done, is_open=open_after(done + Item.n_leased, project.overlap))
        .execution_options(synchronize_session=False)
    )
