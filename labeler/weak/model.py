"""Turn the label matrix into probabilistic labels: Snorkel's LabelModel or majority vote.

Snorkel's ``LabelModel`` (Ratner et al. 2019) learns each LF's accuracy from
the LFs' agreements alone and weighs their votes accordingly; majority vote
is the simple, robust baseline and the fallback when there are fewer than
three LFs (the label model cannot identify their accuracies then).

Two conventions hold for both methods, so the services can store one shape:

- a row no LF covers gets a uniform distribution (Snorkel's LabelModel would
  give the class prior; uniform keeps "nobody voted" visible and is how
  WRENCH scores such rows), and :func:`covered` marks those rows;
- ``tie_policy`` applies to covered rows: ``"abstain"`` keeps a tie as a
  split distribution (``predict`` then returns -1), ``"random"`` turns it into
  one class chosen as Snorkel's ``probs_to_preds(tie_break_policy="random")``
  chooses (a SHA-1 of the row's position), so results reproduce Snorkel's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "LabelModelResult",
    "covered",
    "fit_label_model",
    "majority_vote",
    "predict",
]

TiePolicy = Literal["abstain", "random"]
TOL = 1e-5  # Snorkel's tolerance for a tie
PREDICT_CHUNK = 100_000  # rows per LabelModel.predict_proba call: bounded memory


def covered(L: np.ndarray) -> np.ndarray:
    """Rows with at least one non-abstain vote.

    >>> covered(np.array([[0, -1], [-1, -1], [-1, 1]]))
    array([ True, False,  True])
    """
    return np.asarray((np.asarray(L) != -1).any(axis=1), dtype=bool)


def _snorkel_hash(i: int, random_state: int) -> int:
    key = str(i) if random_state == 0 else f"{random_state}:{i}"
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16)


def _tied(proba: np.ndarray) -> np.ndarray:
    top = proba.max(axis=1, keepdims=True)
    return np.abs(proba - top) < TOL


def _break_ties(proba: np.ndarray, rows: np.ndarray, random_state: int) -> np.ndarray:
    """One-hot on the Snorkel-chosen tied class for ``rows`` that are ties."""
    tied = _tied(proba)
    out = proba.copy()
    for i in np.flatnonzero(rows & (tied.sum(axis=1) > 1)):
        choices = np.flatnonzero(tied[i])
        out[i] = 0.0
        out[i, choices[_snorkel_hash(int(i), random_state) % len(choices)]] = 1.0
    return out


def _counts(L: np.ndarray, cardinality: int) -> np.ndarray:
    counts = np.empty((L.shape[0], cardinality), dtype=np.int32)
    for c in range(cardinality):
        counts[:, c] = np.equal(L, c).sum(axis=1, dtype=np.int32)
    return counts


def majority_vote(
    L: np.ndarray,
    cardinality: int,
    tie_policy: TiePolicy = "abstain",
    random_state: int = 0,
) -> np.ndarray:
    """Majority vote as probabilities, ``(n, cardinality)`` float32.

    A tie splits the mass among the tied classes (Snorkel's
    ``MajorityLabelVoter.predict_proba``) unless ``tie_policy="random"``;
    uncovered rows are uniform.

    >>> L = np.array([[0, 0, -1], [0, 1, -1], [-1, -1, -1]])
    >>> majority_vote(L, 2)
    array([[1. , 0. ],
           [0.5, 0.5],
           [0.5, 0.5]], dtype=float32)
    >>> majority_vote(L, 2, tie_policy="random")[1]
    array([0., 1.], dtype=float32)
    """
    L = np.asarray(L)
    counts = _counts(L, cardinality)
    top = counts.max(axis=1, keepdims=True)
    proba = (counts == top).astype(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)
    if tie_policy == "random":
        proba = _break_ties(proba, top[:, 0] > 0, random_state)
    return proba.astype(np.float32)


@dataclass
class LabelModelResult:
    """Probabilistic labels ``proba`` (n, k) float32; ``weights``: learned LF accuracies."""

    proba: np.ndarray
    weights: np.ndarray | None
    method: str


def _class_balance(class_balance: Sequence[float] | None, cardinality: int) -> list[float] | None:
    if class_balance is None:
        return None
    p = np.asarray(class_balance, dtype=np.float64)
    if p.shape != (cardinality,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(f"class_balance needs {cardinality} positive numbers")
    return list(p / p.sum())


def fit_label_model(
    L: np.ndarray,
    cardinality: int,
    method: Literal["label_model", "majority"] = "label_model",
    class_balance: Sequence[float] | None = None,
    tie_policy: TiePolicy = "abstain",
    random_state: int = 0,
    n_epochs: int = 500,
) -> LabelModelResult:
    """Fit the label model on ``L`` and return its probabilistic labels for ``L``.

    Parameters
    ----------
    L : (n, m) array of int, -1 = abstain
    cardinality : int
        Number of labels k.
    method : {"label_model", "majority"}
        Snorkel's ``LabelModel`` (falls back to majority vote, and says so in
        ``method``, with fewer than 3 LFs) or majority vote.
    class_balance : sequence of float, optional
        Prior P(y) for the label model; default uniform (as Snorkel).
    tie_policy : {"abstain", "random"}
    random_state : int
    n_epochs : int

    Examples
    --------
    >>> L = np.array([[1, 1, -1], [0, 0, 0], [1, -1, 1], [-1, -1, -1]] * 5)
    >>> res = fit_label_model(L, 2, n_epochs=50)
    >>> res.method, res.proba.shape, predict(res.proba)[:4].tolist()
    ('label_model', (20, 2), [1, 0, 1, -1])
    """
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError("L must be 2-d (items x LFs)")
    if cardinality < 2:
        raise ValueError("cardinality must be >= 2")
    balance = _class_balance(class_balance, cardinality)
    cov = covered(L)
    if method == "majority" or L.shape[1] < 3:
        name = "majority" if method == "majority" else "majority (label model needs >= 3 LFs)"
        return LabelModelResult(majority_vote(L, cardinality, tie_policy, random_state), None, name)
    if method != "label_model":
        raise ValueError(f"unknown method {method!r}")

    from snorkel.labeling.model import LabelModel

    L64 = L.astype(np.int64, copy=False)
    model = LabelModel(cardinality=cardinality, verbose=False)
    model.fit(
        L64,
        class_balance=balance,
        n_epochs=n_epochs,
        seed=random_state,
        log_freq=max(n_epochs, 1),
        progress_bar=False,
    )
    proba = np.empty((L.shape[0], cardinality), dtype=np.float64)
    for start in range(0, L.shape[0], PREDICT_CHUNK):
        stop = start + PREDICT_CHUNK
        proba[start:stop] = model.predict_proba(L64[start:stop])
    proba[~cov] = 1.0 / cardinality
    if tie_policy == "random":
        proba = _break_ties(proba, cov, random_state)
    return LabelModelResult(proba.astype(np.float32), np.asarray(model.get_weights()), method)


def predict(
    proba: np.ndarray, tie_policy: TiePolicy = "abstain", random_state: int = 0
) -> np.ndarray:
    """Hard labels from ``proba``: the top class, or -1 on a tie (uniform rows included).

    With ``tie_policy="random"`` ties go to a class chosen as Snorkel does.

    >>> predict(np.array([[0.9, 0.1], [0.5, 0.5]]))
    array([ 0, -1])
    >>> predict(np.array([[0.9, 0.1], [0.5, 0.5]]), tie_policy="random")
    array([0, 1])
    """
    proba = np.asarray(proba, dtype=np.float64)
    if tie_policy == "random":
        proba = _break_ties(proba, np.ones(len(proba), dtype=bool), random_state)
    tied = _tied(proba).sum(axis=1) > 1
    out = proba.argmax(axis=1).astype(np.int64)
    out[tied] = -1
    return out
