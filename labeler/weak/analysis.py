"""Per-LF figures an SME needs to judge LFs: coverage, overlaps, conflicts, accuracy.

The definitions are Snorkel's ``LFAnalysis`` (the unit tests compare with it),
computed with a few NumPy passes over ``L`` instead, for two reasons: human
labels exist only for some items (``y == -1`` elsewhere, which ``LFAnalysis``
cannot take), and a million-row matrix should not go through a sparse
matrix per figure.

- coverage: fraction of items the LF votes on;
- overlaps: fraction of items the LF votes on and another LF also votes on;
- conflicts: fraction of items the LF votes on and another LF votes differently;
- correct / incorrect: its votes on items with a human label, right or wrong;
- emp_accuracy: correct / (correct + incorrect), ``None`` with no such votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["lf_summary"]


def _frac(count: int, n: int) -> float:
    return float(count) / n if n else 0.0


def lf_summary(
    L: np.ndarray,
    y: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Figures per LF and in total.

    Parameters
    ----------
    L : (n, m) array, -1 = abstain
    y : (n,) array, optional
        Human labels, -1 where an item has none (those rows are not scored).
    weights : (m,) array, optional
        Learned weights (the label model's LF accuracies).
    names : sequence of str, optional
        LF names; default ``lf_0``, ``lf_1``, ...

    Returns
    -------
    dict
        ``{"lfs": [{"name", "polarity", "coverage", "overlaps", "conflicts",
        "correct", "incorrect", "emp_accuracy", "weight"}, ...],
        "totals": {"coverage", "overlap", "conflict", "n"}}``

    Examples
    --------
    >>> L = np.array([[1, 1], [0, 1], [-1, 0], [-1, -1]])
    >>> s = lf_summary(L, y=np.array([1, 0, -1, -1]), names=["a", "b"])
    >>> s["lfs"][1]
    {'name': 'b', 'polarity': [0, 1], 'coverage': 0.75, 'overlaps': 0.5, 'conflicts': 0.25, 'correct': 1, 'incorrect': 1, 'emp_accuracy': 0.5, 'weight': None}
    >>> s["totals"]
    {'coverage': 0.75, 'overlap': 0.5, 'conflict': 0.25, 'n': 4}
    """
    L = np.asarray(L)
    n, m = L.shape
    if names is None:
        names = [f"lf_{j}" for j in range(m)]
    if len(names) != m:
        raise ValueError(f"{len(names)} names for {m} LFs")
    voted = L != -1
    n_votes = voted.sum(axis=1)
    big = np.iinfo(np.int32).max
    L32 = L.astype(np.int32, copy=False)
    lo = np.where(voted, L32, big).min(axis=1, initial=big)
    hi = np.where(voted, L32, -1).max(axis=1, initial=-1)
    overlapped = n_votes > 1
    conflicted = overlapped & (lo != hi)
    scored = None
    if y is not None:
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},)")
        scored = y != -1
    rows: list[dict[str, Any]] = []
    for j in range(m):
        col, v = L[:, j], voted[:, j]
        polarity = sorted(int(c) for c in np.unique(col[v]))
        correct = incorrect = 0
        acc = None
        if scored is not None and y is not None:
            s = v & scored
            correct = int((col[s] == y[s]).sum())
            incorrect = int(s.sum()) - correct
            acc = correct / (correct + incorrect) if correct + incorrect else None
        rows.append(
            {
                "name": names[j],
                "polarity": polarity,
                "coverage": _frac(int(v.sum()), n),
                "overlaps": _frac(int((v & overlapped).sum()), n),
                "conflicts": _frac(int((v & conflicted).sum()), n),
                "correct": correct,
                "incorrect": incorrect,
                "emp_accuracy": acc,
                "weight": None if weights is None else float(weights[j]),
            }
        )
    totals = {
        "coverage": _frac(int((n_votes > 0).sum()), n),
        "overlap": _frac(int(overlapped.sum()), n),
        "conflict": _frac(int(conflicted.sum()), n),
        "n": int(n),
    }
    return {"lfs": rows, "totals": totals}
