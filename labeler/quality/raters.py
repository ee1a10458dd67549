"""Rater quality: how much each rater answers, how fast, and how often the others agree.

Two views of a rater, because each misleads alone: agreement with the consensus
of the *other* raters (leave-one-out, so a rater never votes for themselves;
the consensus rule is :mod:`labeler.quality.consensus`'s), and Dawid-Skene's
estimated confusion matrix (crowd-kit), which weighs raters by their estimated
reliability instead of one vote each and so separates a careless rater from a
rater who is merely outvoted on hard items.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler.quality.consensus import leave_one_out_majority

__all__ = [
    "DawidSkeneResult",
    "RaterStats",
    "dawid_skene",
    "gold_accuracy",
    "group_median",
    "rater_stats",
]

#: Answer kinds, integer-coded as the arrays carry them.
LABEL, SKIP, UNSURE = 0, 1, 2


def group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group (NaN values ignored; NaN for an empty group), one sort.

    Examples
    --------
    >>> group_median(np.array([0, 0, 0, 1, 1]), np.array([3.0, 1.0, 2.0, 4.0, np.nan]), 3).tolist()
    [2.0, 4.0, nan]
    """
    keep = ~np.isnan(values)
    g, v = np.asarray(group, dtype=np.int64)[keep], np.asarray(values, dtype=np.float64)[keep]
    if len(v) and (v == np.round(v)).all() and v.min() >= 0 and v.max() < 2**31:
        # Whole milliseconds: one sort of packed (group, value) keys beats a two-key lexsort.
        key = np.sort((g << 31) | v.astype(np.int64))
        g, v = key >> 31, (key & (2**31 - 1)).astype(np.float64)
    else:
        order = np.lexsort((v, g))
        g, v = g[order], v[order]
    sizes = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.full(n_groups, np.nan)
    has = sizes > 0
    lo = starts[has] + (sizes[has] - 1) // 2
    hi = starts[has] + sizes[has] // 2
    out[has] = (v[lo] + v[hi]) / 2
    return out


@dataclass(frozen=True)
class RaterStats:
    """Per-rater figures, each an array indexed by rater code."""

    answers: np.ndarray  # every answer: labels, skips, unsure
    labels: np.ndarray  # label answers
    skip_rate: np.ndarray
    unsure_rate: np.ndarray
    median_ms: np.ndarray  # NaN when no answer has a duration
    loo_agreement: np.ndarray  # share of scored answers equal to the others' consensus; NaN if none
    loo_scored: np.ndarray  # answers whose item has a consensus of the others
    flagged: np.ndarray  # bool: scored enough and below the threshold


def rater_stats(
    rater: np.ndarray,
    kind: np.ndarray,
    duration_ms: np.ndarray,
    n_raters: int,
    *,
    label_item: np.ndarray,
    label_rater: np.ndarray,
    label: np.ndarray,
    counts: np.ndarray,
    threshold: float = 0.7,
    min_scored: int = 10,
    loo: np.ndarray | None = None,
) -> RaterStats:
    """Per-rater figures from all answers (``rater``, ``kind``, ``duration_ms``; NaN = unknown)
    and from the label answers (``label_item``, ``label_rater``, ``label``; ``counts`` is
    their item x label table).

    A rater is flagged when at least ``min_scored`` of their answers could be
    compared with the others' consensus and fewer than ``threshold`` of them match.
    ``loo`` (optional) is :func:`~labeler.quality.consensus.leave_one_out_majority`
    of the label answers, when the caller already has it.

    Examples
    --------
    >>> counts = np.array([[2, 1], [0, 3]])
    >>> s = rater_stats(np.array([0, 1, 2, 0, 1, 2]), np.zeros(6, int), np.full(6, np.nan), 3,
    ...                 label_item=np.array([0, 0, 0, 1, 1, 1]), label_rater=np.array([0, 1, 2, 0, 1, 2]),
    ...                 label=np.array([0, 0, 1, 1, 1, 1]), counts=counts, min_scored=1)
    >>> s.loo_agreement.tolist(), s.flagged.tolist()
    ([1.0, 1.0, 0.5], [False, False, True])
    """
    rater = np.asarray(rater, dtype=np.int64)
    kind = np.asarray(kind, dtype=np.int64)
    answers = np.bincount(rater, minlength=n_raters)
    labels = np.bincount(rater[kind == LABEL], minlength=n_raters)
    with np.errstate(divide="ignore", invalid="ignore"):
        skip_rate = np.bincount(rater[kind == SKIP], minlength=n_raters) / answers
        unsure_rate = np.bincount(rater[kind == UNSURE], minlength=n_raters) / answers
    median_ms = group_median(rater, np.asarray(duration_ms, dtype=np.float64), n_raters)

    if loo is None:  # the consensus of the others, when the caller has not computed it
        loo = leave_one_out_majority(counts, label_item, label)
    scored = loo >= 0
    loo_scored = np.bincount(label_rater[scored], minlength=n_raters)
    hits = np.bincount(label_rater[scored & (loo == label)], minlength=n_raters)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo_agreement = np.where(loo_scored > 0, hits / np.maximum(loo_scored, 1), np.nan)
    flagged = (loo_scored >= min_scored) & (loo_agreement < threshold)
    return RaterStats(
        answers, labels, skip_rate, unsure_rate, median_ms, loo_agreement, loo_scored, flagged
    )


@dataclass(frozen=True)
class DawidSkeneResult:
    """Dawid-Skene's estimates: ``confusion[r, true, observed] = P(rater r says observed | true)``."""

    confusion: np.ndarray  # (n_raters, k, k)
    priors: np.ndarray  # (k,)
    labels: np.ndarray  # (n_items,) the estimated true label; -1 for items without answers
    proba: np.ndarray  # (n_items, k)
    accuracy: np.ndarray  # (n_raters,) sum_t priors[t] * confusion[r, t, t]


def dawid_skene(
    item: np.ndarray,
    rater: np.ndarray,
    label: np.ndarray,
    n_items: int,
    n_raters: int,
    k: int,
    *,
    n_iter: int = 100,
    tol: float = 1e-5,
) -> DawidSkeneResult:
    """Fit crowd-kit's ``DawidSkene`` on integer-coded answers and return arrays.

    crowd-kit starts from majority vote and alternates E and M steps until the
    evidence lower bound improves by less than ``tol``.

    Examples
    --------
    >>> r = dawid_skene(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]),
    ...                 np.array([0, 0, 1, 1, 1, 1]), 2, 3, 2)
    >>> r.labels.tolist()
    [0, 1]
    """
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    frame = pd.DataFrame(
        {
            "task": np.asarray(item, dtype=np.int64),
            "worker": np.asarray(rater, dtype=np.int64),
            "label": np.asarray(label, dtype=np.int64),
        }
    )
    with warnings.catch_warnings():
        # crowd-kit 1.4 still passes keywords pandas 3 deprecates (``inplace=``, ``copy=``).
        warnings.filterwarnings("ignore", module=r"crowdkit\.")
        model = DawidSkene(n_iter=n_iter, tol=tol).fit(frame)
    # errors_: index (worker, observed), columns true label -> P(observed | true).
    fitted: Any = model  # crowd-kit declares its fitted attributes Optional
    errors = fitted.errors_.stack().rename("p").reset_index()
    errors.columns = ["worker", "observed", "true", "p"]
    confusion = np.zeros((n_raters, k, k))
    confusion[
        errors["worker"].to_numpy(np.int64),
        errors["true"].to_numpy(np.int64),
        errors["observed"].to_numpy(np.int64),
    ] = errors["p"].to_numpy(np.float64)
    priors = np.zeros(k)
    priors[fitted.priors_.index.to_numpy(np.int64)] = fitted.priors_.to_numpy(np.float64)
    proba = np.zeros((n_items, k))
    probas = fitted.probas_
    proba[np.ix_(probas.index.to_numpy(np.int64), probas.columns.to_numpy(np.int64))] = (
        probas.to_numpy(np.float64)
    )
    labels = np.full(n_items, -1, dtype=np.int64)
    labels[fitted.labels_.index.to_numpy(np.int64)] = fitted.labels_.to_numpy(np.int64)
    accuracy = (confusion[:, np.arange(k), np.arange(k)] * priors).sum(axis=1)
    return DawidSkeneResult(confusion, priors, labels, proba, accuracy)


def gold_accuracy(
    rater: np.ndarray, item: np.ndarray, label: np.ndarray, gold: np.ndarray, n_raters: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each rater's label answers on gold items, how many match the gold answer, the share.

    Parameters
    ----------
    rater, item, label : ndarray of int
        One entry per label answer: rater code, item code, label position.
    gold : ndarray of int, shape (n_items,)
        The gold answer's label position per item code, ``-1`` for a normal item.
    n_raters : int

    Returns
    -------
    answers, correct : ndarray of int64, shape (n_raters,)
    accuracy : ndarray of float64, shape (n_raters,)
        ``correct / answers``; NaN for a rater without a gold answer.

    Examples
    --------
    >>> gold = np.array([1, -1, 0])
    >>> a, c, acc = gold_accuracy(
    ...     np.array([0, 0, 0, 1, 1]), np.array([0, 1, 2, 0, 1]), np.array([1, 1, 1, 0, 0]), gold, 3
    ... )
    >>> a.tolist(), c.tolist(), acc.tolist()
    ([2, 1, 0], [1, 0, 0], [0.5, 0.0, nan])
    """
    item = np.asarray(item, dtype=np.int64)
    expected = np.asarray(gold, dtype=np.int64)[item] if len(item) else np.zeros(0, np.int64)
    on = expected >= 0
    who = np.asarray(rater, dtype=np.int64)[on]
    hit = (np.asarray(label)[on] == expected[on]).astype(np.int64)
    answers = np.bincount(who, minlength=n_raters).astype(np.int64)
    correct = np.bincount(who, weights=hit, minlength=n_raters).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(answers > 0, correct / np.maximum(answers, 1), np.nan)
    return answers, correct, accuracy
