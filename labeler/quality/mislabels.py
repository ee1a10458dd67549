"""Likely mislabeled items: out-of-sample probabilities and confident learning (cleanlab).

A label is suspect when a model that never saw it (cross-validated, so each item's
probabilities come from a fold it was held out of) finds the label unlikely.
cleanlab's :func:`~cleanlab.filter.find_label_issues` decides which labels are
issues and :func:`~cleanlab.rank.get_label_quality_scores` ranks them (self-confidence:
the held-out probability of the given label; lowest first).

Which of cleanlab's filters: measured on scikit-learn's digits with 5% of the labels
flipped at random (an SVC's 5-fold probabilities, 6 seeds), noise-rate pruning (its
default) found 0.80-0.92 of the flips at a precision of 0.93-1.0, and the argmax
filter (``predicted_neq_given``: the held-out prediction differs from the label)
0.99-1.0 at a precision of 0.82-0.85. Random flips spread thinly over every pair of
classes, so the noise-rate estimate is conservative there. The flags feed a review
queue ranked by score, where a missed mislabel costs more than a look at a right
one, so :data:`DEFAULT_FILTER` is the argmax filter; the others are one argument away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

__all__ = ["DEFAULT_FILTER", "Mislabels", "find_mislabels", "out_of_sample_proba"]

DEFAULT_FILTER = "predicted_neq_given"
FILTERS = (
    "predicted_neq_given",
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "low_self_confidence",
    "low_normalized_margin",
)


@dataclass(frozen=True)
class Mislabels:
    """Suspect rows, most suspect first, with their label quality (0 = surely wrong)."""

    index: np.ndarray
    quality: np.ndarray
    suggested: np.ndarray
    n_checked: int
    reason: str | None = None


def out_of_sample_proba(
    model: BaseEstimator, X: Any, y: ArrayLike, *, cv: int = 5, random_state: Any = 0
) -> np.ndarray | None:
    """Held-out class probabilities of every row (columns: the classes 0..k-1 present).

    Uses ``min(cv, smallest class count)`` stratified folds; None when some class
    has fewer than 2 rows or there are fewer than 2 classes.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [0.1], [0.2], [2.0], [2.1], [2.2]])
    >>> p = out_of_sample_proba(LogisticRegression(), X, [0, 0, 0, 1, 1, 1], cv=3)
    >>> p.shape, bool((p.argmax(axis=1) == [0, 0, 0, 1, 1, 1]).all())
    ((6, 2), True)
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y_arr = np.asarray(y)
    classes, counts = np.unique(y_arr, return_counts=True)
    if classes.size < 2 or counts.min() < 2:
        return None
    folds = StratifiedKFold(
        n_splits=int(min(cv, counts.min())), shuffle=True, random_state=random_state
    )
    return np.asarray(cross_val_predict(clone(model), X, y_arr, cv=folds, method="predict_proba"))


def find_mislabels(
    labels: ArrayLike, pred_proba: np.ndarray, *, filter_by: str = DEFAULT_FILTER
) -> Mislabels:
    """The rows whose ``labels`` are likely wrong given held-out ``pred_proba`` (cleanlab).

    ``labels`` are class indexes 0..k-1 (the columns of ``pred_proba``).

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.95, 0.05], [0.2, 0.8]])
    >>> found = find_mislabels([0, 0, 1, 1, 1], proba)
    >>> found.index.tolist(), found.suggested.tolist()
    ([3], [0])
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    if filter_by not in FILTERS:
        raise ValueError(f"filter_by must be one of {list(FILTERS)}, got {filter_by!r}")
    y = np.asarray(labels, dtype=np.int64)
    proba = np.asarray(pred_proba, dtype=np.float64)
    empty = np.zeros(0, dtype=np.int64)
    if len(y) == 0:
        return Mislabels(empty, np.zeros(0), empty, 0, "no labeled items")
    if proba.shape != (len(y), proba.shape[1]) or y.min() < 0 or y.max() >= proba.shape[1]:
        raise ValueError("labels must index the columns of pred_proba, one row per label")
    flagged = np.asarray(find_label_issues(y, proba, filter_by=filter_by), dtype=bool)
    quality = np.asarray(get_label_quality_scores(y, proba, method="self_confidence"))
    index = np.flatnonzero(flagged)
    index = index[np.argsort(quality[index], kind="stable")]
    return Mislabels(index, quality[index], proba[index].argmax(axis=1), len(y))
