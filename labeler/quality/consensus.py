"""The consensus label of an item: one definition for training, export and agreement.

Majority vote over an item's current human labels. A tie has no consensus (the
item is left out of training and exported without a label) rather than a label
picked by order, so that disagreement stays visible.

Two weighted aggregators from crowd-kit replace the one-rater-one-vote rule when
raters differ in reliability: Wawa (votes weighted by each rater's agreement
with the majority) and Dawid-Skene (a confusion matrix per rater, fitted by EM).
They take the integer-coded answers (:func:`aggregate`) and give, like majority
vote, one label per item with a confidence (the share of votes, or the
aggregator's probability of the label); a tie between the top labels again gives
no label (-1), so the item goes to adjudication instead of to the first label.

:func:`majority_codes` is the same rule over an item x label count table (the
integer-coded form the agreement statistics use), so the consensus that human-level
performance and rater quality compare against is the one training and export use.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

__all__ = [
    "METHODS",
    "SKIP_LABELS",
    "Consensus",
    "aggregate",
    "consensus_labels",
    "dawid_skene_consensus",
    "label_counts",
    "leave_one_out_majority",
    "majority",
    "majority_codes",
    "majority_consensus",
    "top_label",
    "wawa_consensus",
]

L = TypeVar("L", bound=Hashable)

#: The consensus methods a project can use (its ``consensus_method``).
METHODS: tuple[str, ...] = ("mv", "wawa", "dawid-skene")
Method = Literal["mv", "wawa", "dawid-skene"]

#: Two probabilities closer than this are a tie.
TIE_ATOL = 1e-9

#: Labels that mean "no opinion": ignored by the consensus.
SKIP_LABELS: frozenset[Any] = frozenset({None, "", "skip", "__skip__"})


def majority(labels: Sequence[L]) -> tuple[L | None, float | None]:
    """The most common label and its share of the votes; ``(None, None)`` on a tie or no votes.

    Examples
    --------
    >>> majority(["a", "b", "a"])
    ('a', 0.6666666666666666)
    >>> majority(["a", "b"])
    (None, None)
    >>> majority([])
    (None, None)
    """
    if not labels:
        return None, None
    ranked = Counter(labels).most_common(2)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, None
    return ranked[0][0], ranked[0][1] / len(labels)


def consensus_labels(
    label_lists: Iterable[Sequence[Any]], *, skip: Iterable[Any] = SKIP_LABELS
) -> list[Any]:
    """Majority label of each item's labels, ignoring ``skip``; ties and no labels give None.

    Examples
    --------
    >>> consensus_labels([["cat", "cat", "dog"], ["cat", "dog"], [], ["skip", "dog"]])
    ['cat', None, None, 'dog']
    """
    skip_set = set(skip)
    return [majority([lab for lab in labels if lab not in skip_set])[0] for labels in label_lists]


def majority_codes(counts: np.ndarray) -> np.ndarray:
    """The majority label index of each row of an (n, k) count table; -1 on a tie or no votes.

    The same rule as :func:`majority`, vectorized.

    Examples
    --------
    >>> majority_codes(np.array([[2, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 3]])).tolist()
    [0, -1, -1, 2]
    """
    counts = np.asarray(counts)
    if counts.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    top = counts.max(axis=1)
    winners = (counts == top[:, None]).sum(axis=1)
    out = counts.argmax(axis=1).astype(np.int64)
    out[(top == 0) | (winners > 1)] = -1
    return out


def leave_one_out_majority(counts: np.ndarray, item: np.ndarray, label: np.ndarray) -> np.ndarray:
    """For each answer, the consensus of the *other* answers to its item (-1: tie or none).

    ``counts`` is the item x label table of all answers; answer ``i`` gave
    ``label[i]`` to ``item[i]``.

    Examples
    --------
    >>> counts = np.array([[2, 1], [1, 0]])
    >>> leave_one_out_majority(counts, np.array([0, 0, 0, 1]), np.array([0, 0, 1, 0])).tolist()
    [-1, -1, 0, -1]
    """
    others = np.asarray(counts)[item].copy()
    others[np.arange(len(item)), label] -= 1
    return majority_codes(others)


@dataclass(frozen=True)
class Consensus:
    """One label per item: ``labels[i]`` a label index (-1: tie or no votes) with
    ``confidence[i]`` (NaN where there is no label)."""

    labels: np.ndarray  # (n_items,) int64
    confidence: np.ndarray  # (n_items,) float64


def label_counts(item: np.ndarray, label: np.ndarray, n_items: int, k: int) -> np.ndarray:
    """The (n_items, k) table of how many answers gave each label to each item.

    Examples
    --------
    >>> label_counts(np.array([0, 0, 1]), np.array([1, 1, 0]), 3, 2).tolist()
    [[0, 2], [1, 0], [0, 0]]
    """
    counts = np.zeros((n_items, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(item, dtype=np.int64), np.asarray(label, dtype=np.int64)), 1)
    return counts


def top_label(proba: np.ndarray, *, atol: float = TIE_ATOL) -> Consensus:
    """The most probable label of each row of an (n, k) table and its probability.

    A row whose two highest values are within ``atol`` (a tie), or that is all
    zero or not a number, has no label.

    Examples
    --------
    >>> c = top_label(np.array([[0.2, 0.8], [0.5, 0.5], [0.0, 0.0], [np.nan, np.nan]]))
    >>> c.labels.tolist(), c.confidence.tolist()
    ([1, -1, -1, -1], [0.8, nan, nan, nan])
    """
    proba = np.nan_to_num(np.asarray(proba, dtype=np.float64), nan=0.0)
    n, k = proba.shape
    if n == 0:
        return Consensus(np.zeros(0, dtype=np.int64), np.zeros(0))
    order = np.sort(proba, axis=1)
    top = order[:, -1]
    second = order[:, -2] if k > 1 else np.zeros(n)
    labels = proba.argmax(axis=1).astype(np.int64)
    none = (top <= 0) | (top - second <= atol)
    labels[none] = -1
    confidence = np.where(none, np.nan, top)
    return Consensus(labels, confidence)


def majority_consensus(item: np.ndarray, label: np.ndarray, n_items: int, k: int) -> Consensus:
    """Majority vote (:func:`majority_codes`) with the winner's share of the votes.

    Examples
    --------
    >>> c = majority_consensus(np.array([0, 0, 0, 1, 1]), np.array([1, 1, 0, 0, 1]), 3, 2)
    >>> c.labels.tolist(), np.round(c.confidence, 3).tolist()
    ([1, -1, -1], [0.667, nan, nan])
    """
    counts = label_counts(item, label, n_items, k)
    labels = majority_codes(counts)
    total = counts.sum(axis=1)
    confidence = np.full(n_items, np.nan)
    has = labels >= 0
    confidence[has] = counts[has, labels[has]] / total[has]
    return Consensus(labels, confidence)


def _frame(item: np.ndarray, rater: np.ndarray, label: np.ndarray) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "task": np.asarray(item, dtype=np.int64),
            "worker": np.asarray(rater, dtype=np.int64),
            "label": np.asarray(label, dtype=np.int64),
        }
    )


def _proba_table(probas: Any, n_items: int, k: int) -> np.ndarray:
    """crowd-kit's task x label probabilities as an (n_items, k) array (0 for absent items)."""
    out = np.zeros((n_items, k))
    out[np.ix_(probas.index.to_numpy(np.int64), probas.columns.to_numpy(np.int64))] = (
        probas.to_numpy(np.float64)
    )
    return out


def wawa_consensus(
    item: np.ndarray, rater: np.ndarray, label: np.ndarray, n_items: int, k: int
) -> Consensus:
    """crowd-kit's Wawa: each rater's vote weighs their agreement with the majority vote.

    The confidence is Wawa's probability of the label (its share of the weighted
    votes). A rater who never agrees with the majority weighs nothing; an item
    whose raters all weigh nothing has no label.

    Examples
    --------
    Rater 2 agrees with the majority on one item of four (weight 1/4), raters 0
    and 1 on every item (weight 1): the last item, a tie by majority vote, goes
    to rater 1's label with 1 / (1 + 1/4) = 0.8 of the weighted votes.

    >>> c = wawa_consensus(np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]),
    ...                    np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 2]),
    ...                    np.array([0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1]), 4, 2)
    >>> c.labels.tolist(), np.round(c.confidence, 3).tolist()
    ([0, 0, 1, 0], [0.889, 1.0, 0.889, 0.8])
    """
    if len(item) == 0:
        return Consensus(np.full(n_items, -1, dtype=np.int64), np.full(n_items, np.nan))
    from crowdkit.aggregation import MajorityVote, Wawa

    frame = _frame(item, rater, label)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"crowdkit\.")
        skills = Wawa().fit(frame).skills_
        # Wawa's own predict_proba goes through scikit-learn's check_is_fitted, which
        # scikit-learn 1.6+ refuses for crowd-kit's estimators; it is this call.
        fitted: Any = MajorityVote().fit(frame, skills=skills)
    return top_label(_proba_table(fitted.probas_, n_items, k))


def dawid_skene_consensus(
    item: np.ndarray,
    rater: np.ndarray,
    label: np.ndarray,
    n_items: int,
    n_raters: int,
    k: int,
    *,
    n_iter: int = 100,
    tol: float = 1e-5,
) -> Consensus:
    """Dawid-Skene (crowd-kit, through :func:`labeler.quality.raters.dawid_skene`): the label
    of highest posterior probability, and that probability.

    Examples
    --------
    >>> c = dawid_skene_consensus(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]),
    ...                           np.array([0, 0, 1, 1, 1, 1]), 3, 3, 2)
    >>> c.labels.tolist(), bool(c.confidence[0] > 0.5), bool(np.isnan(c.confidence[2]))
    ([0, 1, -1], True, True)
    """
    if len(item) == 0:
        return Consensus(np.full(n_items, -1, dtype=np.int64), np.full(n_items, np.nan))
    # Imported here: raters builds on this module's majority vote.
    from labeler.quality.raters import dawid_skene

    fitted = dawid_skene(item, rater, label, n_items, n_raters, k, n_iter=n_iter, tol=tol)
    return top_label(fitted.proba)


def aggregate(
    method: str,
    item: np.ndarray,
    rater: np.ndarray,
    label: np.ndarray,
    n_items: int,
    n_raters: int,
    k: int,
) -> Consensus:
    """The consensus of integer-coded label answers by ``method`` (one of :data:`METHODS`).

    Answer ``i`` is rater ``rater[i]`` giving label ``label[i]`` (0..k-1) to item ``item[i]``.

    Examples
    --------
    >>> args = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([1, 1, 0, 1])
    >>> aggregate("mv", *args, 2, 2, 2).labels.tolist()
    [1, -1]
    >>> aggregate("vote", *args, 2, 2, 2)
    Traceback (most recent call last):
    ...
    ValueError: unknown consensus method 'vote'
    """
    if method == "mv":
        return majority_consensus(item, label, n_items, k)
    if method == "wawa":
        return wawa_consensus(item, rater, label, n_items, k)
    if method == "dawid-skene":
        return dawid_skene_consensus(item, rater, label, n_items, n_raters, k)
    raise ValueError(f"unknown consensus method {method!r}")
