"""Inter-rater agreement over integer-coded answers, vectorized.

Every figure starts from the same long arrays, one entry per answer: ``item``
(0..n_items-1), ``rater`` (0..n_raters-1) and ``label`` (0..k-1), at most one
answer per item and rater. From them come the item x label count table (all
the item-level figures) and the answer pairs within items (the rater x rater
figures), each built with ``bincount``/``unique`` rather than per-item loops, so
a project of a million answers takes about a second.

Which library computes what:

- Krippendorff's alpha: computed here from the coincidence matrix
  (Krippendorff 2011), because the ``krippendorff`` package is GPL-3.0 and this
  project is Apache-2.0; the tests check it against the published worked example
  and against that package where it is installed (a test-only dependency).
- Fleiss' kappa: ``statsmodels.stats.inter_rater.fleiss_kappa``.
- Cohen's kappa: scikit-learn's formula (``cohen_kappa_score``, unweighted),
  applied to every rater pair's confusion table at once; the tests check each
  entry against ``cohen_kappa_score``.

Items with one answer are counted by the caller but enter no coefficient: they
have no pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "PairTables",
    "cohen_kappa_from_tables",
    "fleiss_kappa",
    "item_entropy",
    "item_label_counts",
    "coincidence_matrix",
    "krippendorff_alpha",
    "pair_tables",
    "percent_agreement",
]

Level = Literal["nominal", "ordinal"]


def item_label_counts(item: np.ndarray, label: np.ndarray, n_items: int, k: int) -> np.ndarray:
    """The (n_items, k) table of how many answers gave each label to each item.

    Examples
    --------
    >>> item_label_counts(np.array([0, 0, 1]), np.array([1, 1, 0]), 2, 2).tolist()
    [[0, 2], [1, 0]]
    """
    codes = np.asarray(item, dtype=np.int64) * k + np.asarray(label, dtype=np.int64)
    return np.bincount(codes, minlength=n_items * k).reshape(n_items, k)


def coincidence_matrix(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's (k, k) coincidence matrix over the pairable items (two answers or more).

    ``o[c, d] = sum_u n_uc * (n_ud - [c == d]) / (m_u - 1)``: every ordered pair of
    answers within an item, weighted so each item contributes its m_u answers.

    Examples
    --------
    >>> coincidence_matrix(np.array([[2, 0], [1, 1], [1, 0]])).tolist()
    [[2.0, 1.0], [1.0, 0.0]]
    """
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    c = counts[pairable]
    w = c / (m[pairable] - 1)[:, None]
    return c.T @ w - np.diag(w.sum(axis=0))


def _ordinal_delta(n_c: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal metric: (sum of the marginals from c to d, less half of both ends)^2."""
    cum = np.concatenate([[0.0], np.cumsum(n_c)])
    lo = np.minimum.outer(np.arange(len(n_c)), np.arange(len(n_c)))
    hi = np.maximum.outer(np.arange(len(n_c)), np.arange(len(n_c)))
    between = cum[hi + 1] - cum[lo]
    return (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2


def krippendorff_alpha(counts: np.ndarray, level: Level = "nominal") -> tuple[float | None, int]:
    """Krippendorff's alpha and the number of pairable items it rests on.

    ``alpha = 1 - (n - 1) * sum(o * delta) / sum(n_c n_d delta)``; None when fewer
    than two pairable answers exist or every answer is the same label.

    Examples
    --------
    >>> alpha, n = krippendorff_alpha(np.array([[2, 0], [0, 2], [1, 1]]))
    >>> round(alpha, 4), n
    (0.4444, 3)
    >>> krippendorff_alpha(np.array([[2, 0], [3, 0]]))
    (None, 2)
    """
    counts = np.asarray(counts)
    n_items = int((counts.sum(axis=1) >= 2).sum())
    o = coincidence_matrix(counts)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        return None, n_items
    if level == "nominal":
        delta = 1.0 - np.eye(len(n_c))
    elif level == "ordinal":
        delta = _ordinal_delta(n_c)
    else:
        raise ValueError(f"unknown level {level!r}")
    expected = float((np.outer(n_c, n_c) * delta).sum())
    if expected == 0:
        return None, n_items
    return float(1.0 - (n - 1) * float((o * delta).sum()) / expected), n_items


def fleiss_kappa(counts: np.ndarray) -> tuple[float | None, int, int]:
    """Fleiss' kappa over the items answered by the most common number of raters (at least 2).

    Fleiss' kappa needs the same number of answers per item, so it is computed on
    the largest such group (ties go to the larger number of raters). Returns
    (kappa, items it rests on, raters per item); kappa is None without two such
    items' worth of variation.

    Examples
    --------
    >>> table = np.array([[3, 0], [0, 3], [2, 1], [1, 0]])
    >>> kappa, n, m = fleiss_kappa(table)
    >>> round(kappa, 4), n, m
    (0.55, 3, 3)
    """
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    counts = np.asarray(counts)
    m = counts.sum(axis=1)
    sizes = np.bincount(m[m >= 2]) if (m >= 2).any() else np.zeros(0, dtype=np.int64)
    if not sizes.any():
        return None, 0, 0
    best = int(len(sizes) - 1 - np.argmax(sizes[::-1]))
    table = counts[m == best]
    p = table.sum(axis=0) / table.sum()
    if float((p * p).sum()) >= 1.0 - 1e-12:
        return None, len(table), best
    return float(sm_fleiss(table, method="fleiss")), len(table), best


def percent_agreement(counts: np.ndarray) -> tuple[float | None, int]:
    """Mean share of agreeing answer pairs per pairable item, and how many items that is.

    Examples
    --------
    >>> percent_agreement(np.array([[3, 0], [2, 1], [1, 0]]))
    (0.6666666666666666, 2)
    """
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    if not pairable.any():
        return None, 0
    c, mm = counts[pairable], m[pairable]
    share = (c * (c - 1)).sum(axis=1) / (mm * (mm - 1))
    return float(share.mean()), int(pairable.sum())


def percent_agreement_by_group(
    counts: np.ndarray, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`percent_agreement` of each group of items (e.g. by the week of their last
    answer): ``(share, n_items)`` per group, NaN where a group has no pairable item.

    Examples
    --------
    >>> share, n = percent_agreement_by_group(np.array([[3, 0], [2, 1], [1, 1]]), np.array([0, 1, 1]), 3)
    >>> share.round(3).tolist(), n.tolist()
    ([1.0, 0.167, nan], [1, 2, 0])
    """
    counts = np.asarray(counts, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    c, mm, g = counts[pairable], m[pairable], group[pairable]
    share = (c * (c - 1)).sum(axis=1) / (mm * (mm - 1))
    n = np.bincount(g, minlength=n_groups)
    total = np.bincount(g, weights=share, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan), n


def item_entropy(counts: np.ndarray) -> np.ndarray:
    """Each item's disagreement: the entropy (bits) of its answers' label distribution.

    0 when all answers agree (or there are none); log2(k) at most.

    Examples
    --------
    >>> item_entropy(np.array([[2, 0], [1, 1], [0, 0]])).tolist()
    [0.0, 1.0, 0.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, m, out=np.zeros_like(counts), where=m > 0)
    logp = np.log2(p, out=np.zeros_like(p), where=p > 0)
    return np.asarray(-(p * logp).sum(axis=1) + 0.0)


@dataclass(frozen=True)
class PairTables:
    """Confusion tables of every rater pair that shares items.

    ``pairs[i] = (a, b)`` with ``a < b``; ``tables[i, x, y]`` counts the items
    where rater ``a`` said ``x`` and rater ``b`` said ``y``.
    """

    pairs: np.ndarray  # (P, 2) int64
    tables: np.ndarray  # (P, k, k) int64

    @property
    def support(self) -> np.ndarray:
        """Items each pair shares."""
        return np.asarray(self.tables.sum(axis=(1, 2)))


def _within_item_pairs(
    item: np.ndarray, rater: np.ndarray, label: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair of answers to the same item, as (rater_a, rater_b, label_a, label_b).

    One vectorized pass per offset within an item (up to the largest number of
    answers per item, which is small), never per item.
    """
    n_r = int(rater.max()) + 1 if len(rater) else 1
    order = np.argsort(item * n_r + rater, kind="stable")
    it, ra, la = item[order], rater[order], label[order]
    parts: list[tuple[np.ndarray, ...]] = []
    d = 1
    while d < len(it):
        same = it[d:] == it[:-d]
        if not same.any():
            break
        idx = np.flatnonzero(same)
        parts.append((ra[idx], ra[idx + d], la[idx], la[idx + d]))
        d += 1
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    a, b, x, y = (np.concatenate(p) for p in zip(*parts, strict=True))
    return a, b, x, y


def pair_tables(item: np.ndarray, rater: np.ndarray, label: np.ndarray, k: int) -> PairTables:
    """Confusion tables of all rater pairs sharing items (see :class:`PairTables`).

    Examples
    --------
    >>> t = pair_tables(np.array([0, 0, 1, 1]), np.array([1, 0, 0, 1]), np.array([1, 1, 0, 1]), 2)
    >>> t.pairs.tolist(), t.tables.tolist()
    ([[0, 1]], [[[0, 1], [0, 1]]])
    """
    item = np.asarray(item, dtype=np.int64)
    rater = np.asarray(rater, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    a, b, x, y = _within_item_pairs(item, rater, label)  # sorted by rater within item: a < b
    n_r = int(rater.max()) + 1 if len(rater) else 0
    pair_code = a * n_r + b
    present, inverse = np.unique(pair_code, return_inverse=True)
    cell = (inverse * k + x) * k + y
    tables = np.bincount(cell, minlength=len(present) * k * k).reshape(len(present), k, k)
    pairs = np.stack([present // max(n_r, 1), present % max(n_r, 1)], axis=1)
    return PairTables(pairs.astype(np.int64), tables)


def cohen_kappa_from_tables(tables: np.ndarray) -> np.ndarray:
    """Unweighted Cohen's kappa of each (k, k) table, scikit-learn's formula; NaN when undefined.

    ``kappa = 1 - sum(w * O) / sum(w * E)`` with ``w = 1 - I`` and ``E`` the
    outer product of the marginals scaled to the table's total.

    Examples
    --------
    >>> cohen_kappa_from_tables(np.array([[[20, 5], [10, 15]]])).round(4).tolist()
    [0.4]
    """
    t = np.asarray(tables, dtype=np.float64)
    n = t.sum(axis=(1, 2))
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[:, :, None] * cols[:, None, :] / n[:, None, None]
        off = 1.0 - np.eye(t.shape[1])
        observed_dis = (t * off).sum(axis=(1, 2))
        expected_dis = (expected * off).sum(axis=(1, 2))
        kappa = 1.0 - observed_dis / expected_dis
    kappa[(n == 0) | (expected_dis == 0)] = np.nan
    return np.asarray(kappa)
