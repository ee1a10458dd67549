"""The consensus label of an item: one definition for training, export and agreement.

Majority vote over an item's current human labels. A tie has no consensus (the
item is left out of training and exported without a label) rather than a label
picked by order, so that disagreement stays visible. Weighted aggregators
(Wawa, Dawid-Skene) build on the same shape: label lists in, labels out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["SKIP_LABELS", "consensus_labels", "majority"]

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
