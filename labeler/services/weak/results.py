"""The stored non-human labels of items, for export: adjudications, the newest label
model and propagation.

The export takes an item's final label in this order: adjudicated > human
consensus > label model > propagation; this module answers the first and the
last two for a chunk of items. Runs are picked once per export (:func:`current_runs`), so a
fit finishing mid-export does not mix two runs in one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Adjudication, Project, WeakResult, WeakRun

SOURCES = ("label_model", "propagation")


def current_runs(project_id: int) -> dict[str, int]:
    """The newest finished run id of each kind (label_model, propagation) of the project."""
    out: dict[str, int] = {}
    for kind in SOURCES:
        run_id = db.session.scalar(
            select(WeakRun.id)
            .where(WeakRun.project_id == project_id, WeakRun.kind == kind, WeakRun.status == "done")
            .order_by(WeakRun.id.desc())
            .limit(1)
        )
        if run_id is not None:
            out[kind] = int(run_id)
    return out


def _among(column: Any, item_ids: Sequence[int], page: bool) -> Any:
    """``column`` among ``item_ids``: an IN list, or for a ``page`` (ascending ids, every
    item of the project between the first and the last: the export's keyset pages) the
    range, which the index answers without a 2,000-parameter statement."""
    if page:
        return column.between(item_ids[0], item_ids[-1])
    return column.in_(list(item_ids))


def labels_for(
    project: Project, runs: dict[str, int], item_ids: Sequence[int], *, page: bool = False
) -> dict[str, dict[int, tuple[str, float]]]:
    """kind -> item id -> (label name, confidence) where the run has a label for the item
    (``page``: see :func:`_among`)."""
    names = project.label_names
    out: dict[str, dict[int, tuple[str, float]]] = {kind: {} for kind in runs}
    if not item_ids:
        return out
    wanted = set(item_ids)
    for kind, run_id in runs.items():
        for item_id, label, confidence in db.session.execute(
            select(WeakResult.item_id, WeakResult.label, WeakResult.confidence).where(
                WeakResult.run_id == run_id,
                _among(WeakResult.item_id, item_ids, page),
                WeakResult.label >= 0,
            )
        ):
            if label < len(names) and item_id in wanted:
                out[kind][item_id] = (names[label], float(confidence))
    return out


def current_decisions(
    project_id: int, item_ids: Sequence[int] | None = None, *, page: bool = False
) -> list[Adjudication]:
    """The current (newest) adjudication of each decided item of the project, or of
    ``item_ids`` (``page``: see :func:`_among`)."""
    newest = select(func.max(Adjudication.id)).where(Adjudication.project_id == project_id)
    if item_ids is not None:
        if not item_ids:
            return []
        newest = newest.where(_among(Adjudication.item_id, item_ids, page))
    newest = newest.group_by(Adjudication.item_id)
    found = db.session.scalars(select(Adjudication).where(Adjudication.id.in_(newest)))
    if item_ids is None or not page:
        return list(found)
    wanted = set(item_ids)
    return [d for d in found if d.item_id in wanted]


def confident_labels(project: Project, min_confidence: float) -> dict[int, tuple[int, float]]:
    """Item id -> (label position, confidence) of the newest runs' labels at least that
    confident, for active learning (``project.train_on_weak``).

    The label model wins over propagation where both label an item (the export's
    order). One query per run, on the run's rows; nothing else of the item is read.
    """
    out: dict[int, tuple[int, float]] = {}
    n_labels = len(project.label_names)
    runs = current_runs(project.id)
    for kind in reversed(SOURCES):  # propagation first, so the label model overwrites it
        if kind not in runs:
            continue
        for item_id, label, confidence in db.session.execute(
            select(WeakResult.item_id, WeakResult.label, WeakResult.confidence).where(
                WeakResult.run_id == runs[kind],
                WeakResult.label >= 0,
                WeakResult.confidence >= min_confidence,
            )
        ):
            if label < n_labels:
                out[int(item_id)] = (int(label), float(confidence))
    return out


def adjudicated_for(
    project: Project, item_ids: Sequence[int], *, page: bool = False
) -> dict[int, tuple[str, float]]:
    """item id -> (label, 1.0): the current adjudicated label (an expert's decision wins
    over every other source) of those of ``item_ids`` that have one (``page``: see
    :func:`_among`)."""
    names = set(project.label_names)
    return {
        d.item_id: (d.label, 1.0)
        for d in current_decisions(project.id, item_ids, page=page)
        if d.label in names  # renames follow the label; a vanished label decides nothing
    }
