"""Apply what is stale, and store the votes sparsely.

An LF version's votes are complete for items up to ``LFApplyState.applied_upto``
(item ids only grow). An apply runs, for every used LF version, only on items
past its watermark: new items get every LF, a new version (a changed LF) gets
every item, an LF nothing happened to is skipped. Each chunk of items is one
transaction that inserts the chunk's votes and advances the watermarks, so an
apply killed midway resumes where it stopped. A version starting from zero
first deletes any votes it has (delete-then-insert).

Declarative LFs run vectorized over whole columns (``apply_lfs``); Python LFs
run in a child process with time and memory limits (``run_python_lfs``), one
call per file and chunk; an LF that raises or times out gets its error stored
and no votes (fits leave it out), the others of the file still count.
External LFs (WRENCH) have their votes from the import and are never applied.
Items whose data a re-import changed (``WeakDirtyItem``) are re-applied first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import delete, func, select

from labeler.extensions import db
from labeler.models import Item, LabelingFunction, LFApplyState, Project, WeakDirtyItem
from labeler.models.types import utcnow
from labeler.services.errors import BadInput
from labeler.services.weak import columns, lfs, votes

APPLIED_KINDS = (*lfs.DECLARATIVE, "python")


@dataclass
class ApplyReport:
    """What one apply did: items per LF name, errors per LF name."""

    n_items: int = 0
    applied: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Items whose data changed, re-applied to the used LFs.
    redone: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "applied": self.applied,
            "errors": self.errors,
            "redone": self.redone,
        }


def _report_errors(
    report: ApplyReport, used: list[LabelingFunction], errors: dict[int, str]
) -> None:
    for lf in used:
        if lf.id in errors:
            report.errors[lf.name] = errors[lf.id]


class _Voter:
    """The votes of LF versions on a chunk of records: declarative ones vectorized,
    Python ones per file in a child process (errors collected per LF version)."""

    def __init__(
        self, project: Project, versions: list[LabelingFunction], errors: dict[int, str]
    ) -> None:
        self.labels = project.label_names
        self.errors = errors
        self.decl = []
        for lf in versions:
            if lf.kind == "python":
                continue
            try:
                self.decl.append((lf, lfs.build_lf(project, lf.spec or {})))
            except BadInput as exc:  # e.g. its label was removed: this LF fails, not the apply
                errors[lf.id] = exc.message
        self.files: dict[str, list[LabelingFunction]] = {}
        for lf in versions:
            if lf.kind == "python":
                self.files.setdefault(lf.source or "", []).append(lf)
        self.fields = {getattr(core, "field", "text") for _, core in self.decl}

    def votes(self, records: list[dict[str, Any]]) -> dict[int, np.ndarray]:
        out = self.declarative(columns.to_columns(records, self.fields), len(records))
        for source, group in self.files.items():
            out.update(_run_file(source, group, records, self.labels, self.errors))
        return out

    def declarative(self, cols: dict[str, list[Any]], n: int) -> dict[int, np.ndarray]:
        """The declarative LFs' votes on ``n`` rows given as columns (their fields)."""
        if not self.decl:
            return {}
        from labeler.weak.apply import apply_lfs

        L = apply_lfs(cols, [c for _, c in self.decl], n=n)
        return {lf.id: L[:, j] for j, (lf, _) in enumerate(self.decl)}

    def chunks(
        self, project_id: int, after: int, upto: int, chunk: int
    ) -> Iterator[tuple[list[int], dict[int, np.ndarray]]]:
        """(ids, votes) chunk by chunk: only the LFs' fields are read when no Python LF
        needs whole records."""
        if self.files:
            for ids, records in columns.iter_chunks(project_id, after, upto, chunk):
                db.session.commit()  # end the read before the work (SQLite's lock)
                yield ids, self.votes(records)
            return
        for ids, cols in columns.iter_columns(project_id, sorted(self.fields), after, upto, chunk):
            db.session.commit()
            yield ids, self.declarative(cols, len(ids))


def _redo_dirty(project: Project, chunk: int, errors: dict[int, str]) -> int:
    """Re-apply the used LFs to items whose data changed; forget how far unused
    versions got (they re-apply fully when used again). Returns the items redone."""
    dirty = list(
        db.session.scalars(
            select(WeakDirtyItem.item_id)
            .where(WeakDirtyItem.project_id == project.id)
            .order_by(WeakDirtyItem.item_id)
        )
    )
    if not dirty:
        return 0
    own = set(
        db.session.scalars(
            select(LabelingFunction.id).where(
                LabelingFunction.project_id == project.id, LabelingFunction.kind != "external"
            )
        )
    )
    used = [lf for lf in lfs.used(project) if lf.kind in APPLIED_KINDS]
    marks = {lf.id: st.applied_upto for lf in used if (st := lfs.states([lf.id]).get(lf.id))}
    unused = own - set(marks)
    if unused:
        db.session.execute(delete(LFApplyState).where(LFApplyState.lf_id.in_(list(unused))))
    voter = _Voter(project, [lf for lf in used if lf.id in marks], errors)
    for lo in range(0, len(dirty), chunk):
        part = dirty[lo : lo + chunk]
        rows = db.session.execute(
            select(Item.id, Item.data).where(Item.id.in_(part)).order_by(Item.id)
        ).all()
        db.session.commit()
        id_arr = np.asarray([r.id for r in rows], dtype=np.int64)
        got = voter.votes([r.data if isinstance(r.data, dict) else {} for r in rows])
        for lf_id, col in got.items():
            # Items past the LF's watermark get it from the apply that follows.
            mine = id_arr <= marks[lf_id]
            if mine.any():
                votes.replace([lf_id], id_arr[mine], np.asarray(col)[mine][:, None])
        db.session.execute(delete(WeakDirtyItem).where(WeakDirtyItem.item_id.in_(part)))
        db.session.commit()
    for state in lfs.states(list(marks)).values():
        state.n_votes = votes.count(state.lf_id)
        if state.lf_id in errors:
            state.error = errors[state.lf_id][:4000]
    db.session.commit()
    return len(dirty)


def stale(project: Project) -> list[tuple[LabelingFunction, int]]:
    """Used LF versions whose votes are not complete, with their watermarks."""
    top = columns.max_item_id(project.id)
    found = [lf for lf in lfs.used(project) if lf.kind in APPLIED_KINDS]
    st = lfs.states([lf.id for lf in found])
    out = []
    for lf in found:
        mark = st[lf.id].applied_upto if lf.id in st else 0
        if mark < top or lf.id not in st:
            out.append((lf, mark))
    return out


def _progress_total(project: Project, todo: list[tuple[LabelingFunction, int]]) -> int:
    low = min(mark for _, mark in todo)
    return int(
        db.session.scalar(select(func.count()).where(Item.project_id == project.id, Item.id > low))
        or 0
    )


def apply_stale(
    project: Project,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk: int | None = None,
) -> ApplyReport:
    """Bring every used LF version's votes up to the project's newest item.

    ``progress(done, total)`` is called after each committed chunk (items).
    """
    report = ApplyReport()
    chunk = chunk or int(current_app.config["LABELER_WEAK_CHUNK"])
    errors: dict[int, str] = {}
    report.redone = _redo_dirty(project, chunk, errors)
    todo = stale(project)
    if not todo:
        _report_errors(report, [lf for lf in lfs.used(project)], errors)
        return report
    top = columns.max_item_id(project.id)
    total = _progress_total(project, todo)
    marks = {lf.id: mark for lf, mark in todo}
    _start(todo)
    voter = _Voter(project, [lf for lf, _ in todo], errors)
    done = 0
    per_lf = dict.fromkeys(marks, 0)
    prev_hi = min(marks.values())
    for ids, got in voter.chunks(project.id, min(marks.values()), top, chunk):
        id_arr = np.asarray(ids, dtype=np.int64)
        counts: dict[int, int] = {}
        blocks: list[tuple[int, np.ndarray, np.ndarray, int]] = []
        for lf_id, col in got.items():
            fresh = id_arr > marks[lf_id]
            n_fresh = int(fresh.sum())
            if not n_fresh:
                continue
            per_lf[lf_id] += n_fresh
            col = np.asarray(col)
            counts[lf_id] = int((fresh & (col >= 0)).sum())
            blocks.append((lf_id, id_arr[fresh], col[fresh], max(marks[lf_id], prev_hi) + 1))
        votes.append_blocks(blocks, int(ids[-1]))
        _advance(list(marks), ids[-1], counts, errors)
        db.session.commit()
        prev_hi = int(ids[-1])
        done += int((id_arr > min(marks.values())).sum())
        if progress is not None:
            progress(done, total)
    for lf, _ in todo:
        report.applied[lf.name] = per_lf[lf.id]
    _report_errors(report, [lf for lf, _ in todo], errors)
    report.n_items = done
    return report


def _start(todo: list[tuple[LabelingFunction, int]]) -> None:
    """Create missing states; a version starting from zero drops any votes it has."""
    fresh = [lf.id for lf, mark in todo if mark == 0]
    votes.drop(fresh)
    have = lfs.states([lf.id for lf, _ in todo])
    for lf, _ in todo:
        if lf.id not in have:
            db.session.add(LFApplyState(lf_id=lf.id, applied_upto=0, n_votes=0))
        elif have[lf.id].applied_upto == 0:
            have[lf.id].n_votes, have[lf.id].error = 0, None
    db.session.commit()


def _advance(lf_ids: list[int], upto: int, counts: dict[int, int], errors: dict[int, str]) -> None:
    for state in lfs.states(lf_ids).values():
        state.applied_upto = max(state.applied_upto, upto)
        state.n_votes += counts.get(state.lf_id, 0)
        state.applied_at = utcnow()
        if state.lf_id in errors:
            state.error = errors[state.lf_id][:4000]


def _run_file(
    source: str,
    group: list[LabelingFunction],
    records: list[dict[str, Any]],
    labels: list[str],
    errors: dict[int, str],
) -> dict[int, np.ndarray]:
    """Votes of one Python file's LFs on ``records`` (child process; errors per LF)."""
    from labeler.weak.python_lfs import run_python_lfs

    cfg = current_app.config
    result = run_python_lfs(
        source,
        records,
        labels,
        timeout_s=float(cfg["LABELER_PYTHON_LF_TIMEOUT"]),
        memory_mb=int(cfg["LABELER_PYTHON_LF_MEMORY_MB"]),
    )
    index = {name: j for j, name in enumerate(result.names)}
    whole_file = result.errors.get("<file>")
    out: dict[int, np.ndarray] = {}
    for lf in group:
        message = result.errors.get(lf.name) or whole_file
        j = index.get(lf.name)
        if message is None and j is None:
            message = "not found in the file any more"
        if message is not None:
            errors[lf.id] = message
            out[lf.id] = np.full(len(records), -1, dtype=np.int16)
        else:
            assert j is not None
            out[lf.id] = np.asarray(result.L[:, j])
    return out
