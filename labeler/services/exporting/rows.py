"""One row per item: its final label with provenance, streamed in keyset-paginated chunks.

The final label takes, among the sources the export allows and in this order:
adjudicated > human consensus > label model > propagation. Everything that needs
the whole project is computed once before the first row: the human consensus
(:func:`labeler.services.quality.consensus.consensus_table`: arrays over the
answered items, looked up row by row, not a dict of 300,000 objects, which cost
~130 MB; Dawid-Skene needs all answers at once), the weak runs (so a fit
finishing mid-export does not mix two runs in one file), the active labeling
functions, and, when a split is asked for, each class's sorted split keys (a
first pass over the items' ids and labels, 8 bytes per labeled item). Item data
and per-rater answers are read chunk by chunk, so memory stays flat in the
size of the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import (
    Annotation,
    Item,
    LabelingFunction,
    Project,
    User,
    WeakRun,
)
from labeler.services.exporting.options import ExportOptions
from labeler.services.exporting.split import Splitter, item_key
from labeler.services.quality.consensus import ItemConsensus, ProjectConsensus, consensus_table
from labeler.services.weak import results as weak_results
from labeler.services.weak import votes as vote_store

__all__ = ["CHUNK", "ExportContext", "final_label", "iter_rows", "prepare"]

CHUNK = 2000
_NO_CONSENSUS = ItemConsensus(None, None, 0, None)


def final_label(
    human: tuple[str | None, float | None],
    adjudicated: tuple[str, float] | None = None,
    label_model: tuple[str, float] | None = None,
    propagation: tuple[str, float] | None = None,
    sources: tuple[str, ...] = ("adjudicated", "human", "label_model", "propagation"),
) -> tuple[str | None, str | None, float | None]:
    """(label, source, confidence): the first of ``sources`` that has a label.

    >>> final_label((None, None), None, ("spam", 0.9), ("ham", 0.6))
    ('spam', 'label_model', 0.9)
    >>> final_label(("ham", 1.0), None, ("spam", 0.9))
    ('ham', 'human', 1.0)
    >>> final_label(("ham", 1.0), None, ("spam", 0.9), sources=("label_model",))
    ('spam', 'label_model', 0.9)
    >>> final_label((None, None))
    (None, None, None)
    """
    got = {
        "adjudicated": adjudicated,
        "human": human if human[0] is not None else None,
        "label_model": label_model,
        "propagation": propagation,
    }
    for source in sources:
        value = got[source]
        if value is not None:
            return value[0], source, value[1]
    return None, None, None


@dataclass
class ExportContext:
    """What an export reads once, and what it counts as it goes (for the manifest)."""

    project: Project
    options: ExportOptions
    method: str
    consensus: ProjectConsensus
    runs: dict[str, int]
    lfs: dict[int, tuple[str, int]]  # active LF version id -> (name, version)
    label_model_lfs: dict[str, int]  # the label model's LFs: name -> version
    splitter: Splitter | None = None
    progress: Callable[[int], None] | None = None
    counts: Counter[str] = field(default_factory=Counter)
    below_min_confidence: int = 0
    rows: int = 0

    def manifest_part(self) -> dict[str, Any]:
        return {
            "consensus_method": self.method,
            "counts_per_source": {
                s: self.counts.get(s, 0) for s in (*self.options.source_list(), "null")
            },
            "below_min_confidence": self.below_min_confidence,
            "weak_runs": dict(self.runs),
            "label_model_lfs": dict(self.label_model_lfs),
            "lf_versions": {name: version for name, version in self.lfs.values()},
            "split": None
            if self.splitter is None
            else {
                "fractions": list(self.splitter.fractions),
                "seed": self.options.seed,
                "sizes": self.splitter.sizes(),
            },
            "rows": self.rows,
        }


def prepare(project: Project, options: ExportOptions) -> ExportContext:
    """Read what the whole export needs once (see the module docstring)."""
    method = options.consensus or getattr(project, "consensus_method", None) or "mv"
    runs = weak_results.current_runs(project.id)
    newest = (
        select(LabelingFunction.name, func.max(LabelingFunction.version).label("version"))
        .where(LabelingFunction.project_id == project.id, LabelingFunction.active)
        .group_by(LabelingFunction.name)
        .subquery()
    )
    lfs = {
        lf_id: (name, version)
        for lf_id, name, version in db.session.execute(
            select(LabelingFunction.id, LabelingFunction.name, LabelingFunction.version)
            .join(
                newest,
                (LabelingFunction.name == newest.c.name)
                & (LabelingFunction.version == newest.c.version),
            )
            .where(LabelingFunction.project_id == project.id)
            .order_by(LabelingFunction.name)
        )
    }
    label_model_lfs: dict[str, int] = {}
    if "label_model" in runs:
        run = db.session.get(WeakRun, runs["label_model"])
        ids = list(run.lf_ids or []) if run is not None else []
        if ids:
            label_model_lfs = {
                name: version
                for name, version in db.session.execute(
                    select(LabelingFunction.name, LabelingFunction.version).where(
                        LabelingFunction.id.in_(ids)
                    )
                )
            }
    ctx = ExportContext(
        project=project,
        options=options,
        method=method,
        consensus=consensus_table(project, method),
        runs=runs,
        lfs=lfs,
        label_model_lfs=label_model_lfs,
    )
    fractions = options.split_fractions()
    if fractions is not None:
        ctx.splitter = _fit_splitter(ctx, fractions)
    return ctx


def _chunks(project_id: int, chunk: int, *columns: Any) -> Iterator[Sequence[Any]]:
    """Keyset pages of ``(Item.id, *columns)`` in id order; each page ends its transaction.

    Core rows (``session.connection()``), not ORM ones: the ORM's per-row
    bookkeeping cost more than the query on a 300,000-item export.
    """
    last_id = 0
    while True:
        page = (
            db.session.connection()
            .execute(
                select(Item.id, *columns)
                .where(Item.project_id == project_id, Item.id > last_id)
                .order_by(Item.id)
                .limit(chunk)
            )
            .all()
        )
        if not page:
            return
        last_id = page[-1].id
        yield page
        # A long export must not hold SQLite's write lock (or a PostgreSQL snapshot).
        db.session.commit()


def _labels(
    ctx: ExportContext, ids: list[int], humans: list[ItemConsensus] | None = None
) -> dict[int, tuple[str | None, str | None, float | None]]:
    """item id -> (label, source, confidence) of a chunk (``humans``: the chunk's consensus,
    looked up here when not given)."""
    # ``ids`` are a keyset page: every item of the project between the first and the last.
    weak = weak_results.labels_for(ctx.project, ctx.runs, ids, page=True)
    decided = weak_results.adjudicated_for(ctx.project, ids, page=True)
    lm, prop = weak.get("label_model", {}), weak.get("propagation", {})
    sources = ctx.options.source_list()
    if humans is None:
        humans = ctx.consensus.get_many(ids, _NO_CONSENSUS)
    out = {}
    for item_id, human in zip(ids, humans, strict=True):
        out[item_id] = final_label(
            (human.label, human.confidence),
            decided.get(item_id),
            lm.get(item_id),
            prop.get(item_id),
            sources,
        )
    return out


def _below(ctx: ExportContext, confidence: float | None) -> bool:
    floor = ctx.options.min_confidence
    return floor > 0 and (confidence is None or confidence < floor)


def _fit_splitter(ctx: ExportContext, fractions: tuple[float, float, float]) -> Splitter:
    splitter = Splitter(fractions)
    seed = ctx.options.seed
    for page in _chunks(ctx.project.id, 5 * CHUNK, Item.external_id):
        labels = _labels(ctx, [p.id for p in page])
        by_class: dict[str, list[int]] = {}
        for p in page:
            label, _, confidence = labels[p.id]
            if label is not None and not _below(ctx, confidence):
                by_class.setdefault(label, []).append(item_key(seed, p.external_id))
        for label, keys in by_class.items():
            splitter.add_all(label, keys)
    splitter.freeze()
    return splitter


def iter_rows(ctx: ExportContext, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """The export's rows, in item id order (see :mod:`labeler.services.exporting`)."""
    opts = ctx.options
    names: dict[int, str] = {}
    label_names = ctx.project.label_names
    for page in _chunks(ctx.project.id, chunk, Item.external_id, Item.data):
        ids = [p.id for p in page]
        humans = ctx.consensus.get_many(ids, _NO_CONSENSUS)
        labels = _labels(ctx, ids, humans)
        answers = _answers(ctx.project.id, ids, names) if opts.annotations else {}
        votes = _lf_votes(ctx, ids, label_names) if opts.lf_votes else {}
        for p, human in zip(page, humans, strict=True):
            label, source, confidence = labels[p.id]
            if label is not None and _below(ctx, confidence):
                ctx.below_min_confidence += 1
                label = source = confidence = None
            row: dict[str, Any] = {"id": p.external_id, "data": p.data}
            if opts.annotations:
                row["annotations"] = answers.get(p.id, [])
            row.update(
                label=label,
                source=source,
                confidence=confidence,
                n_raters=human.n_raters,
                agreement=human.agreement,
            )
            if opts.lf_votes:
                got = votes.get(p.id, {})
                row["lf_votes"] = {name: got.get(name) for name, _ in ctx.lfs.values()}
            if ctx.splitter is not None:
                row["split"] = ctx.splitter.assign(label, item_key(opts.seed, p.external_id))
            ctx.counts[source or "null"] += 1
            ctx.rows += 1
            yield row
        if ctx.progress is not None:
            ctx.progress(len(page))


def _answers(
    project_id: int, ids: list[int], names: dict[int, str]
) -> dict[int, list[dict[str, Any]]]:
    """item id -> its current answers (rater name, label, kind, time, duration), oldest first.

    ``ids`` are one keyset page (ascending): the answers are read as the range
    ``ids[0]..ids[-1]`` of the (project, item) index rather than a long IN list.
    """
    rows = (
        db.session.connection()
        .execute(
            select(
                Annotation.item_id,
                Annotation.rater_id,
                Annotation.kind,
                Annotation.label,
                Annotation.created_at,
                Annotation.duration_ms,
            )
            .where(
                Annotation.project_id == project_id,
                Annotation.item_id >= ids[0],
                Annotation.item_id <= ids[-1],
                Annotation.is_current,
            )
            .order_by(Annotation.item_id, Annotation.id)
        )
        .all()
    )
    missing = {r[1] for r in rows} - names.keys()
    if missing:
        found = db.session.execute(select(User.id, User.name).where(User.id.in_(missing)))
        names.update({uid: name for uid, name in found})
    out: dict[int, list[dict[str, Any]]] = {}
    for item_id, rater_id, kind, label, created_at, duration_ms in rows:
        answer = {
            "rater": names.get(rater_id),
            "label": label,
            "kind": kind,
            "created_at": created_at.isoformat(),
            "duration_ms": duration_ms,
        }
        got = out.get(item_id)
        if got is None:
            out[item_id] = [answer]
        else:
            got.append(answer)
    return out


def _lf_votes(
    ctx: ExportContext, ids: list[int], label_names: list[str]
) -> dict[int, dict[str, str | None]]:
    """item id -> LF name -> the label it voted (active LFs' newest versions; abstain absent)."""
    if not ctx.lfs:
        return {}
    out: dict[int, dict[str, str | None]] = {}
    lf_a, item_a, vote_a = vote_store.read(list(ctx.lfs), ids)
    for item_id, lf_id, vote in zip(item_a.tolist(), lf_a.tolist(), vote_a.tolist(), strict=True):
        if 0 <= vote < len(label_names):
            out.setdefault(item_id, {})[ctx.lfs[lf_id][0]] = label_names[vote]
    return out
