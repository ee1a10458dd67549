"""What an LF would do, before it is saved: coverage, matches, accuracy, overlaps.

It must answer while an SME types, on projects of 100,000 items and more, so
it works on a seeded random sample of at most ``SAMPLE`` items (all of them
when the project is smaller; the answer says which), kept per project in this
process with the other active LFs' votes and the human consensus on that
sample. The cache is rebuilt when items, votes or labels change (cheap
checks per request). Only declarative LFs preview: no user code runs here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, ImportBatch, Item, LFApplyState, Project
from labeler.services.errors import BadInput
from labeler.services.weak import columns, lfs, matrix, stats
from labeler.weak.lf import KeywordLF, RegexLF

# pyarrow and RE2 (labeler.weak.apply) load on first use: a served web process loads
# them at start (labeler.serve.warm_web_imports), so its first preview does not wait.

SAMPLE = 20_000
SEED = 0
_CACHE_PROJECTS = 4


@dataclass
class _Sample:
    """One project's sample, in three parts that go stale at different rates."""

    key: tuple[Any, ...]  # (n items, max item id, imports): a new sample when items change
    ids: np.ndarray
    external: list[str]
    records: list[dict[str, Any]]
    n_items: int
    lf_key: tuple[Any, ...] = ()
    lf_names: list[str] = field(default_factory=list)
    L: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))
    human_key: int = -1
    human_at: float = 0.0
    human: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    columns: dict[str, list[Any]] = field(default_factory=dict)

    def column(self, name: str) -> list[Any]:
        if name not in self.columns:
            self.columns[name] = [r.get(name) for r in self.records]
        return self.columns[name]


_cache: OrderedDict[tuple[str, int], _Sample] = OrderedDict()
_lock = threading.Lock()
# Raters keep labeling while an SME types: the consensus is refreshed at most this often.
HUMAN_REFRESH_S = 30.0


def _items_key(project: Project) -> tuple[Any, ...]:
    """Changes when items are added or removed, and when an import updates any (batches)."""
    n, top = db.session.execute(
        select(func.count(Item.id), func.max(Item.id)).where(Item.project_id == project.id)
    ).one()
    batch = db.session.execute(
        select(func.count(ImportBatch.id), func.max(ImportBatch.updated_at)).where(
            ImportBatch.project_id == project.id
        )
    ).one()
    return int(n), int(top or 0), int(batch[0]), str(batch[1])


def _lf_key(used: list[Any]) -> tuple[Any, ...]:
    stored = [lf.id for lf in used if lf.kind not in lfs.DECLARATIVE]
    marks = (
        tuple(
            db.session.execute(
                select(LFApplyState.lf_id, LFApplyState.applied_upto, LFApplyState.n_votes)
                .where(LFApplyState.lf_id.in_(stored))
                .order_by(LFApplyState.lf_id)
            ).all()
        )
        if stored
        else ()
    )
    return (tuple(lf.id for lf in used), marks)


def _build_items(project: Project, key: tuple[Any, ...]) -> _Sample:
    all_ids = np.asarray(columns.item_ids(project.id), dtype=np.int64)
    if len(all_ids) > SAMPLE:
        rng = np.random.default_rng(SEED)
        all_ids = np.sort(rng.choice(all_ids, SAMPLE, replace=False))
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    items = Item.__table__
    conn = db.session.connection()
    for lo in range(0, len(all_ids), 5000):
        part = [int(i) for i in all_ids[lo : lo + 5000]]
        for item_id, external_id, data in conn.execute(
            select(items.c.id, items.c.external_id, items.c.data).where(items.c.id.in_(part))
        ):
            found[item_id] = (external_id, data if isinstance(data, dict) else {})
    ids = np.asarray([i for i in all_ids.tolist() if i in found], dtype=np.int64)
    return _Sample(
        key=key,
        ids=ids,
        external=[found[i][0] for i in ids.tolist()],
        records=[found[i][1] for i in ids.tolist()],
        n_items=key[0],
    )


def _build_votes(project: Project, data: _Sample, used: list[Any], key: tuple[Any, ...]) -> None:
    """The other LFs on the sample: stored votes for imported and Python LFs; the
    declarative ones run right here (vectorized), so one saved a moment ago counts
    before it is applied."""
    stored = [lf for lf in used if lf.kind not in lfs.DECLARATIVE]
    _, stored_L = matrix.label_matrix(project, stored, data.ids.tolist())
    dtype = np.int8 if len(project.labels) <= 127 else np.int16
    L = np.full((len(data.ids), len(used)), -1, dtype=dtype)
    decl, built = [], []
    for j, lf in enumerate(used):
        if lf.kind in lfs.DECLARATIVE:
            try:
                built.append(lfs.build_lf(project, lf.spec or {}))
                decl.append((j, lf))
            except BadInput:
                pass  # an LF that no longer builds (its label was removed) votes nothing
    if decl and len(data.ids):
        fields = {getattr(b, "field", project.text_field) for b in built}
        from labeler.weak.apply import apply_lfs

        fresh = apply_lfs({f: data.column(f) for f in fields}, built, n=len(data.ids))
        for c, (j, _) in enumerate(decl):
            L[:, j] = fresh[:, c]
    for c, lf in enumerate(stored):
        L[:, used.index(lf)] = stored_L[:, c]
    data.L, data.lf_names, data.lf_key = L, [lf.name for lf in used], key


def _sample(project: Project) -> _Sample:
    items_key = _items_key(project)
    where = (str(db.engine.url), project.id)
    with _lock:
        data = _cache.get(where)
        if data is not None:
            _cache.move_to_end(where)
    if data is None or data.key != items_key:
        data = _build_items(project, items_key)
    used = lfs.used(project)
    lf_key = _lf_key(used)
    if data.lf_key != lf_key:
        _build_votes(project, data, used, lf_key)
    now = time.monotonic()
    if now - data.human_at > HUMAN_REFRESH_S:
        last = db.session.scalar(
            select(func.max(Annotation.id)).where(Annotation.project_id == project.id)
        )
        if int(last or 0) != data.human_key or not len(data.human):
            data.human = stats.as_y(data.ids, stats.human_consensus(project))
            data.human_key = int(last or 0)
        data.human_at = now
    db.session.commit()
    with _lock:
        _cache[where] = data
        _cache.move_to_end(where)
        while len(_cache) > _CACHE_PROJECTS:
            _cache.popitem(last=False)
    return data


def preview(project: Project, spec: Mapping[str, Any], sample: int = 10) -> dict[str, Any]:
    """Figures of the LF ``spec`` on the project (or its sample) and ``sample`` matched items."""
    started = time.perf_counter()
    lf = lfs.build_lf(project, spec)
    data = _sample(project)
    fields = {getattr(lf, "field", project.text_field)}
    from labeler.weak.apply import apply_lfs

    col = apply_lfs({f: data.column(f) for f in fields}, [lf], n=len(data.ids))[:, 0]
    hit = col >= 0
    n = len(data.ids)
    scored = hit & (data.human >= 0)
    # Its own older version is not "another" LF.
    keep = [j for j, name in enumerate(data.lf_names) if name != spec.get("name")]
    others = data.L[hit][:, keep]
    mine = col[hit]
    other_votes = others >= 0
    overlap_rows = other_votes.any(axis=1)
    conflict_rows = (other_votes & (others != mine[:, None])).any(axis=1)
    per_lf = [
        {
            "name": data.lf_names[j],
            "overlap": int(other_votes[:, c].sum()),
            "conflict": int((other_votes[:, c] & (others[:, c] != mine)).sum()),
        }
        for c, j in enumerate(keep)
    ]
    rng = np.random.default_rng(SEED)
    matched = np.flatnonzero(hit)
    chosen = np.sort(rng.choice(matched, min(sample, len(matched)), replace=False))
    texts = [data.records[r].get(project.text_field) for r in chosen.tolist()]
    texts = [t if isinstance(t, str) else (None if t is None else str(t)) for t in texts]
    from labeler.weak.apply import match_spans

    spans = (
        match_spans(texts, lf)
        if isinstance(lf, KeywordLF | RegexLF) and getattr(lf, "field", None) == project.text_field
        else [[] for _ in texts]
    )
    labels = project.label_names
    return {
        "n_items": data.n_items,
        "n_scanned": n,
        "exact": n == data.n_items,
        "coverage": float(hit.mean()) if n else 0.0,
        "n_matched": int(hit.sum()),
        "accuracy": float((col[scored] == data.human[scored]).mean()) if scored.any() else None,
        "n_scored": int(scored.sum()),
        "overlap": float(overlap_rows.mean()) if len(mine) else 0.0,
        "conflict": float(conflict_rows.mean()) if len(mine) else 0.0,
        "per_lf": per_lf,
        "sample": [
            {
                "id": data.external[r],
                "text": t,
                "vote": labels[int(col[r])],
                "spans": [list(s) for s in sp],
                "human": labels[int(data.human[r])] if data.human[r] >= 0 else None,
            }
            for r, t, sp in zip(chosen.tolist(), texts, spans, strict=True)
        ],
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }
