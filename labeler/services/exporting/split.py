"""Reproducible train/dev/test splits, stratified by final label and balanced per class.

Each item gets a 64-bit key from the seed and its external id (BLAKE2b), so the
split depends on neither the order items come in, nor the export's chunk size,
nor the database's ids. Within each class the items are ranked by key and the
first ``n_train`` go to train, the next ``n_dev`` to dev, the rest to test, with
per-class counts from :func:`split_counts` (largest remainder, and every split
with a positive fraction gets at least one item of a class that has enough):
so even a class of 3 items is spread 1/1/1 rather than 3/0/0 by chance.

Memory: 8 bytes per labeled item (the sorted keys), gathered in a first pass.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["SPLITS", "Splitter", "item_key", "split_counts"]

SPLITS = ("train", "dev", "test")


def item_key(seed: int, external_id: str) -> int:
    """The item's rank key under ``seed`` (a 63-bit integer).

    >>> item_key(0, "a") == item_key(0, "a") != item_key(1, "a")
    True
    """
    digest = hashlib.blake2b(external_id.encode(), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "big") >> 1


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """How many of ``n`` items of one class go to train, dev and test.

    Largest remainder on ``n * fraction``; then, when ``n`` is at least the number
    of splits with a positive fraction, each of them gets one item or more (taken
    from the largest split).

    Examples
    --------
    >>> split_counts(10, (0.8, 0.1, 0.1))
    (8, 1, 1)
    >>> split_counts(3, (0.8, 0.1, 0.1))
    (1, 1, 1)
    >>> split_counts(2, (0.8, 0.1, 0.1))
    (2, 0, 0)
    >>> split_counts(7, (0.5, 0.5, 0.0))
    (4, 3, 0)
    """
    exact = [n * f for f in fractions]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    wanted = [i for i in range(3) if fractions[i] > 0]
    if n >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(range(3), key=lambda j: (counts[j], -j))
                counts[donor] -= 1
                counts[i] += 1
    return counts[0], counts[1], counts[2]


class Splitter:
    """Assigns a split to (label, key) once every labeled item's key is known.

    >>> s = Splitter((0.5, 0.25, 0.25))
    >>> s.add_all("cat", [40, 10, 30, 20])
    >>> s.freeze()
    >>> [s.assign("cat", k) for k in (10, 20, 30, 40)], s.assign(None, 5)
    (['train', 'train', 'dev', 'test'], None)
    >>> s.sizes()
    {'train': 2, 'dev': 1, 'test': 1}
    """

    def __init__(self, fractions: tuple[float, float, float]) -> None:
        self.fractions = fractions
        self._keys: dict[str, list[int]] = {}
        self._sorted: dict[str, np.ndarray] = {}
        self._bounds: dict[str, tuple[int, int]] = {}

    def add_all(self, label: str, keys: Iterable[int]) -> None:
        self._keys.setdefault(label, []).extend(keys)

    def freeze(self) -> None:
        for label, keys in self._keys.items():
            arr = np.sort(np.asarray(keys, dtype=np.int64))
            n_train, n_dev, _ = split_counts(len(arr), self.fractions)
            self._sorted[label] = arr
            self._bounds[label] = (n_train, n_train + n_dev)
        self._keys = {}

    def assign(self, label: str | None, key: int) -> str | None:
        """The split of an item of class ``label``; None for an unlabeled item."""
        if label is None or label not in self._sorted:
            return None
        rank = int(np.searchsorted(self._sorted[label], key))
        train_end, dev_end = self._bounds[label]
        return "train" if rank < train_end else "dev" if rank < dev_end else "test"

    def sizes(self) -> dict[str, int]:
        """Items per split over all classes."""
        out = dict.fromkeys(SPLITS, 0)
        for label, arr in self._sorted.items():
            train_end, dev_end = self._bounds[label]
            out["train"] += train_end
            out["dev"] += dev_end - train_end
            out["test"] += len(arr) - dev_end
        return out
