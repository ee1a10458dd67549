"""Human-level performance: how well one rater matches the consensus of the others.

It is the ceiling an engineer should hold the model against: a model scored on
majority labels cannot be expected to beat the raters' own agreement with that
majority by much. Every answer whose item has a consensus among the *other*
answers (:func:`~labeler.quality.consensus.leave_one_out_majority`) is one
prediction of "a random rater on a random item": an answer weighs one over the
number of answers to its item, so heavily labelled items do not dominate, and
answers without a consensus of the others (a tie) are left out. Accuracy and macro-F1 come with a percentile bootstrap over items
(seeded), because a few hundred items give a wide interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeler.quality.consensus import leave_one_out_majority

__all__ = ["HumanLevel", "human_level", "weighted_scores"]


@dataclass(frozen=True)
class HumanLevel:
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    macro_f1: float | None
    macro_f1_ci: tuple[float, float] | None
    n_items: int  # items with at least one scored answer
    n_answers: int  # scored answers
    confidence: float
    n_boot: int


def weighted_scores(cells: np.ndarray, k: int) -> tuple[float, float]:
    """Accuracy and macro-F1 of a weighted (k*k,) truth x prediction table, flattened.

    Macro-F1 averages over the classes that occur as truth or prediction.

    Examples
    --------
    >>> acc, f1 = weighted_scores(np.array([3.0, 1.0, 0.0, 4.0]), 2)
    >>> round(acc, 4), round(f1, 4)
    (0.875, 0.873)
    """
    table = np.asarray(cells, dtype=np.float64).reshape(k, k)
    total = table.sum()
    tp = np.diag(table)
    truth, pred = table.sum(axis=1), table.sum(axis=0)
    present = (truth + pred) > 0
    f1 = np.divide(2 * tp, truth + pred, out=np.zeros(k), where=present)
    return float(tp.sum() / total), float(f1[present].mean())


def _distinct_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(table, axis=0, return_inverse=True, return_counts=True)``, fast.

    Rows of small counts are packed into one int64 key each (mixed radix), so the
    sort is one-dimensional; tables too wide for that take numpy's row sort.
    """
    base = int(table.max()) + 1 if table.size else 1
    if table.shape[1] * np.log2(max(base, 2)) < 62:
        key = table.astype(np.int64) @ (base ** np.arange(table.shape[1], dtype=np.int64))
        _, first, pattern, n = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        return table[first], pattern.ravel(), n
    rows, pattern, n = np.unique(table, axis=0, return_inverse=True, return_counts=True)
    return rows, pattern.ravel(), n


def _scores_batch(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`weighted_scores` of each (k, k) table of a (B, k, k) stack."""
    tp = np.diagonal(tables, axis1=1, axis2=2)
    truth, pred = tables.sum(axis=2), tables.sum(axis=1)
    present = (truth + pred) > 0
    f1 = np.divide(2 * tp, truth + pred, out=np.zeros_like(tp), where=present)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = tp.sum(axis=1) / tables.sum(axis=(1, 2))
        macro = f1.sum(axis=1) / present.sum(axis=1)
    return acc, macro


def _interval(values: np.ndarray, tail: float) -> tuple[float, float]:
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def human_level(
    counts: np.ndarray,
    item: np.ndarray,
    label: np.ndarray,
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
    random_state: int = 0,
    loo: np.ndarray | None = None,
) -> HumanLevel:
    """Expected accuracy and macro-F1 of one rater against the consensus of the others.

    ``counts`` is the item x label table of the label answers ``(item, label)``;
    ``loo`` (optional) their leave-one-out consensus, when the caller has it.

    Examples
    --------
    >>> counts = np.array([[3, 0], [2, 1], [0, 2]])
    >>> h = human_level(counts, np.array([0, 0, 0, 1, 1, 1, 2, 2]),
    ...                 np.array([0, 0, 0, 0, 0, 1, 1, 1]), n_boot=50)
    >>> round(h.accuracy, 4), h.n_items, h.n_answers
    (0.8571, 3, 6)
    """
    counts = np.asarray(counts)
    item = np.asarray(item, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    k = counts.shape[1]
    if loo is None:
        loo = leave_one_out_majority(counts, item, label)
    scored = loo >= 0
    it, truth, pred = item[scored], loo[scored], label[scored]
    if len(it) == 0:
        return HumanLevel(None, None, None, None, 0, 0, confidence, n_boot)
    per_item = np.bincount(it, minlength=counts.shape[0])
    # A random item, then a random rater of it: each answer weighs 1 / (answers of its item).
    weight = 1.0 / counts.sum(axis=1)[it]
    cell = truth * k + pred
    acc, f1 = weighted_scores(np.bincount(cell, weights=weight, minlength=k * k), k)
    n_items = int((per_item > 0).sum())

    # Bootstrap over items. An item's share of the truth x prediction table depends only
    # on its row of ``counts``, so items with the same row are interchangeable: drawing
    # n_items items with replacement is drawing how many of each distinct row, one
    # multinomial per replicate (exact, and a few distinct rows instead of 300,000 items).
    rng = np.random.default_rng(random_state)
    rows, pattern, n_per_pattern = _distinct_rows(counts[per_item > 0])
    of_item = np.full(counts.shape[0], -1)
    of_item[per_item > 0] = pattern.ravel()
    share = (
        np.bincount(
            of_item[it] * k * k + cell, weights=weight, minlength=len(rows) * k * k
        ).reshape(len(rows), k * k)
        / n_per_pattern[:, None]
    )
    draws = rng.multinomial(n_items, n_per_pattern / n_items, size=n_boot)
    accs, f1s = _scores_batch((draws @ share).reshape(n_boot, k, k))
    tail = (1 - confidence) / 2 * 100
    acc_ci = _interval(accs, tail) if n_boot else None
    f1_ci = _interval(f1s, tail) if n_boot else None
    return HumanLevel(acc, acc_ci, f1, f1_ci, n_items, int(scored.sum()), confidence, n_boot)
