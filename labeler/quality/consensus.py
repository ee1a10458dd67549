"""The consensus label of an item: one definition for training, export and agreement.

Majority vote over an item's current human labels. A tie has no consensus (the
item is left out of training and exported without a label) rather than a label
picked by order, so that disagreement stays visible. Weighted aggregators
(Wawa, Dawid-Skene) build on the same shape: label lists in, labels out.

:func:`majority_codes` is the same rule over an item x label count table (the
integer-coded form the agreement statistics use), so the consensus that human-level
performance and rater quality compare against is the one training and export use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "SKIP_LABELS",
    "consensus_labels",
    "leave_one_out_majority",
    "majority",
    "majority_codes",
]

L = TypeVar("L", bound=Hashable)

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
