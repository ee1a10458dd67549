"""Agreement report of a project (or a slice of it): the database side of ``labeler.quality``.

One query reads the current answers of the slice as integers (label names are
coded to their positions by a CASE in SQL, so no strings cross the wire), the
pure core computes every figure from those arrays, and this module names them
again (raters, labels, items) for the JSON that the CLI, the API and the
project page share. The shape is documented in README ("Agreement").
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import case, func, literal, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.models.types import utcnow
from labeler.quality import agreement as ag
from labeler.quality.consensus import leave_one_out_majority
from labeler.quality.hlp import human_level
from labeler.quality.raters import LABEL, SKIP, UNSURE, dawid_skene, gold_accuracy, rater_stats
from labeler.services import gold as gold_service
from labeler.services.errors import BadInput
from labeler.services.quality.fetch import int_matrix
from labeler.services.spreadsheet import spreadsheet_safe

__all__ = ["AgreementSlice", "DS_AUTO_MAX", "agreement_report", "load_answers"]

#: Above this many label answers, ``dawid_skene="auto"`` leaves Dawid-Skene out
#: (it takes seconds per 100k answers; ask for it with "on").
DS_AUTO_MAX = 200_000

DawidSkeneMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class AgreementSlice:
    """Which answers a report covers; None = no restriction."""

    label: str | None = None  # one class: its agreement one-vs-rest
    raters: tuple[str, ...] | None = None  # only these raters' answers (e.g. a pair)
    since: datetime | None = None  # answers created at or after
    until: datetime | None = None  # answers created before

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "raters": list(self.raters) if self.raters is not None else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


@dataclass(frozen=True)
class Answers:
    """A slice's current answers, integer-coded (see ``labeler.quality.agreement``)."""

    item_ids: np.ndarray  # database id of each item code
    rater_ids: np.ndarray  # database id of each rater code
    item: np.ndarray
    rater: np.ndarray
    kind: np.ndarray  # LABEL, SKIP, UNSURE
    label: np.ndarray  # label position; -1 unless kind == LABEL
    duration_ms: np.ndarray  # float, NaN when unknown


def _rater_ids(names: tuple[str, ...]) -> list[int]:
    found: dict[str, int] = {
        name: uid
        for name, uid in db.session.execute(select(User.name, User.id).where(User.name.in_(names)))
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise BadInput(f"no rater named {missing[0]!r}", {"field": "raters"})
    return [found[n] for n in names]


def load_answers(project: Project, where: AgreementSlice) -> Answers:
    """Read the slice's current answers with one query (ints only)."""
    positions = {lb.name: lb.position for lb in project.labels}
    label_code = case(positions, value=Annotation.label, else_=-1) if positions else literal(-1)
    kind_code = case(
        {"label": LABEL, "skip": SKIP, "unsure": UNSURE}, value=Annotation.kind, else_=UNSURE
    )
    stmt = select(
        Annotation.item_id,
        Annotation.rater_id,
        kind_code,
        label_code,
        func.coalesce(Annotation.duration_ms, -1),
    ).where(Annotation.project_id == project.id, Annotation.is_current)
    if where.raters is not None:
        stmt = stmt.where(Annotation.rater_id.in_(_rater_ids(where.raters)))
    if where.since is not None:
        stmt = stmt.where(Annotation.created_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(Annotation.created_at < where.until)
    table = int_matrix(stmt)
    item_ids, item = np.unique(table[:, 0], return_inverse=True)
    rater_ids, rater = np.unique(table[:, 1], return_inverse=True)
    kind = table[:, 2].copy()
    label = table[:, 3].copy()
    duration = table[:, 4].astype(np.float64)
    duration[duration < 0] = np.nan
    # A label the set no longer has (cannot happen through the services) is left out.
    kind[(kind == LABEL) & (label < 0)] = UNSURE
    label[kind != LABEL] = -1
    return Answers(item_ids, rater_ids, item, rater, kind, label, duration)


def _num(x: Any) -> float | None:
    """A JSON number: NaN and infinities become null."""
    if x is None:
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _latest_model(project: Project) -> dict[str, Any] | None:
    from labeler.models import TrainingRound

    rnd = db.session.scalar(
        select(TrainingRound)
        .where(TrainingRound.project_id == project.id, TrainingRound.status == "done")
        .order_by(TrainingRound.id.desc())
        .limit(1)
    )
    if rnd is None:
        return None
    return {
        "round": rnd.id,
        "n_labels": rnd.n_labels,
        "cv_accuracy": rnd.cv_accuracy,
        "cv_macro_f1": rnd.cv_macro_f1,
    }


def _gold_rows(project: Project, item_ids: np.ndarray) -> np.ndarray:
    """Per item code: the position of its gold answer for the project's gold items, else -1."""
    positions = {lb.name: lb.position for lb in project.labels}
    out = np.full(len(item_ids), -1, dtype=np.int64)
    answers = gold_service.gold_answers(project)
    if answers and len(item_ids):
        ids = np.fromiter(answers, dtype=np.int64, count=len(answers))
        codes = np.searchsorted(item_ids, ids)
        codes = np.minimum(codes, len(item_ids) - 1)
        found = item_ids[codes] == ids
        pos = np.array([positions.get(answers[int(i)], -1) for i in ids], dtype=np.int64)
        out[codes[found]] = pos[found]
    return out


def _names(model: type[Any], ids: np.ndarray, column: Any) -> dict[int, str]:
    if len(ids) == 0:
        return {}
    rows = db.session.execute(select(model.id, column).where(model.id.in_(ids.tolist())))
    return {int(key): str(value) for key, value in rows}


def agreement_report(
    project: Project,
    where: AgreementSlice | None = None,
    *,
    level: Literal["nominal", "ordinal"] | None = None,
    threshold: float = 0.7,
    min_scored: int = 10,
    dawid_skene_mode: DawidSkeneMode = "auto",
    top: int = 20,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Every agreement figure of ``project`` over the slice ``where`` (README: "Agreement")."""
    where = where or AgreementSlice()
    names = project.label_names
    if where.label is not None and where.label not in names:
        raise BadInput(f"{where.label!r} is not a label of the project", {"field": "label"})
    level = level or ("ordinal" if project.labels_ordered else "nominal")
    ans = load_answers(project, where)
    n_items_all, n_raters = len(ans.item_ids), len(ans.rater_ids)

    is_label = ans.kind == LABEL
    item, rater, label = ans.item[is_label], ans.rater[is_label], ans.label[is_label]
    gold = _gold_rows(project, ans.item_ids)
    gold_n, gold_ok, gold_acc = gold_accuracy(rater, item, label, gold, n_raters)
    if where.label is not None:
        # One class: its agreement one-vs-rest ("X" against "not X").
        label = (label != names.index(where.label)).astype(np.int64)
        names = [where.label, f"not {where.label}"]
        level = "nominal"
    k = len(names)
    counts = ag.item_label_counts(item, label, n_items_all, k)
    per_item = counts.sum(axis=1)
    alpha, n_alpha = ag.krippendorff_alpha(counts, level)
    fleiss, n_fleiss, m_fleiss = ag.fleiss_kappa(counts)
    pct, n_pct = ag.percent_agreement(counts)

    tables = ag.pair_tables(item, rater, label, k)
    kappas = ag.cohen_kappa_from_tables(tables.tables)
    support = tables.support
    rater_names = _names(User, ans.rater_ids, User.name)
    rname = [rater_names[int(i)] for i in ans.rater_ids]
    cohen: dict[str, float | None] = {}
    cohen_support: dict[str, int] = {}
    for (a, b), kappa, n in zip(
        tables.pairs.tolist(), kappas.tolist(), support.tolist(), strict=True
    ):
        key = "|".join(sorted((rname[a], rname[b])))
        cohen[key], cohen_support[key] = _num(kappa), int(n)

    loo = leave_one_out_majority(counts, item, label)
    stats = rater_stats(
        ans.rater,
        ans.kind,
        ans.duration_ms,
        n_raters,
        label_item=item,
        label_rater=rater,
        label=label,
        counts=counts,
        threshold=threshold,
        min_scored=min_scored,
        loo=loo,
    )
    # Each rater's pairwise kappas, averaged weighted by shared items.
    ok = ~np.isnan(kappas)
    flat = np.concatenate([tables.pairs[ok, 0], tables.pairs[ok, 1]])
    wk = np.concatenate([kappas[ok] * support[ok]] * 2)
    ws = np.concatenate([support[ok]] * 2).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_kappa = np.bincount(flat, wk, n_raters) / np.bincount(flat, ws, n_raters)

    ds_info: dict[str, Any] = {"computed": False, "reason": None}
    ds = None
    if dawid_skene_mode == "off":
        ds_info["reason"] = "not asked for"
    elif dawid_skene_mode == "auto" and len(label) > DS_AUTO_MAX:
        ds_info["reason"] = f"more than {DS_AUTO_MAX} answers: ask for it with dawid_skene=on"
    elif len(label) == 0:
        ds_info["reason"] = "no label answers"
    else:
        ds = dawid_skene(item, rater, label, n_items_all, n_raters, k)
        ds_info = {"computed": True, "reason": None, "priors": [_num(p) for p in ds.priors]}

    per_rater: dict[str, Any] = {}
    for r in range(n_raters):
        per_rater[rname[r]] = {
            "answers": int(stats.answers[r]),
            "labels": int(stats.labels[r]),
            "skip_rate": _num(stats.skip_rate[r]),
            "unsure_rate": _num(stats.unsure_rate[r]),
            "median_ms": _num(stats.median_ms[r]),
            "loo_agreement": _num(stats.loo_agreement[r]),
            "loo_scored": int(stats.loo_scored[r]),
            "mean_kappa": _num(mean_kappa[r]),
            "flagged": bool(stats.flagged[r]),
            "gold": {
                "answers": int(gold_n[r]),
                "correct": int(gold_ok[r]),
                "accuracy": _num(gold_acc[r]),
            },
            "dawid_skene": None
            if ds is None
            else {
                "accuracy": _num(ds.accuracy[r]),
                "confusion": [[_num(p) for p in row] for row in ds.confusion[r]],
            },
        }

    # Rater-vs-rater table: every ordered pair of answers to the same item.
    pair_counts = tables.tables.sum(axis=0)
    confusion = pair_counts + pair_counts.T
    per_class: dict[str, Any] = {}
    answers_per_class = counts.sum(axis=0)
    for c, name in enumerate(names):
        pairs_with_c = int(confusion[c].sum())
        binary = np.stack([counts[:, c], per_item - counts[:, c]], axis=1)
        per_class[name] = {
            "answers": int(answers_per_class[c]),
            "specific_agreement": _num(confusion[c, c] / pairs_with_c) if pairs_with_c else None,
            "alpha_one_vs_rest": _num(ag.krippendorff_alpha(binary)[0]),
        }

    entropy = ag.item_entropy(counts)
    contested = np.flatnonzero((entropy > 0) & (per_item >= 2))
    worst = contested[np.lexsort((contested, -entropy[contested]))][:top]
    external = _names(Item, ans.item_ids[worst], Item.external_id)
    items = [
        {
            "id": external[int(ans.item_ids[u])],
            "entropy": _num(entropy[u]),
            "counts": {names[c]: int(counts[u, c]) for c in range(k) if counts[u, c]},
        }
        for u in worst
    ]

    hlp = human_level(counts, item, label, n_boot=n_boot, random_state=seed, loo=loo)
    return {
        "project": {"id": project.id, "name": project.name},
        "computed_at": utcnow().isoformat(),
        "slice": where.as_dict(),
        "labels": names,
        "level": level,
        "krippendorff_alpha": _num(alpha),
        "fleiss_kappa": _num(fleiss),
        "percent_agreement": _num(pct),
        "cohen_kappa": cohen,
        "n_items": int((per_item > 0).sum()),
        "n_annotations": int(len(label)),
        "n_answers": int(len(ans.kind)),
        "n_items_single": int((per_item == 1).sum()),
        "support": {
            "krippendorff_alpha": n_alpha,
            "fleiss_kappa": n_fleiss,
            "fleiss_raters_per_item": m_fleiss,
            "percent_agreement": n_pct,
            "cohen_kappa": cohen_support,
        },
        "per_rater": per_rater,
        "rater_threshold": threshold,
        "dawid_skene": ds_info,
        "per_class": per_class,
        "confusion": {"labels": names, "counts": confusion.astype(int).tolist()},
        "items": items,
        "human_level": {
            "accuracy": _num(hlp.accuracy),
            "accuracy_ci": list(hlp.accuracy_ci) if hlp.accuracy_ci else None,
            "macro_f1": _num(hlp.macro_f1),
            "macro_f1_ci": list(hlp.macro_f1_ci) if hlp.macro_f1_ci else None,
            "n_items": hlp.n_items,
            "n_answers": hlp.n_answers,
            "confidence": hlp.confidence,
            "n_boot": hlp.n_boot,
            "seed": seed,
        },
        "model": _latest_model(project),
    }


#: The project page computes the report while it renders only up to this many answers;
#: beyond, it points to the API and the CLI (a few seconds per million answers).
PAGE_MAX_ANSWERS = 100_000


def page_report(project: Project) -> dict[str, Any] | None:
    """The report for the engineer's project page, or None when the project is too big."""
    n = db.session.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.project_id == project.id, Annotation.is_current)
    )
    if not n or n > PAGE_MAX_ANSWERS:
        return None
    return agreement_report(project, dawid_skene_mode="off", top=10)


def item_disagreement(project: Project, where: AgreementSlice | None = None) -> Iterator[list[Any]]:
    """Every item of the slice with a label: ``[id, answers, entropy, count per label...]``.

    The first row is the header; text cells are spreadsheet-safe (as CSV exports). Rows come in the items' id order, external ids read in
    chunks, so a million items never sit in memory as dicts.
    """
    where = where or AgreementSlice()
    names = project.label_names
    ans = load_answers(project, where)
    is_label = ans.kind == LABEL
    counts = ag.item_label_counts(
        ans.item[is_label], ans.label[is_label], len(ans.item_ids), len(names)
    )
    entropy = ag.item_entropy(counts)
    labelled = np.flatnonzero(counts.sum(axis=1) > 0)
    yield ["item_id", "answers", "entropy", *(spreadsheet_safe(n) for n in names)]
    for start in range(0, len(labelled), 5000):
        chunk = labelled[start : start + 5000]
        external = _names(Item, ans.item_ids[chunk], Item.external_id)
        for u in chunk:
            row = counts[u].tolist()
            ref = spreadsheet_safe(external[int(ans.item_ids[u])])
            yield [ref, sum(row), round(float(entropy[u]), 6), *row]
