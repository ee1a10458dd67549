"""Uncertainty sampling: random, least-confident, margin and entropy.

Each strategy is ``(model_or_probas, X, n, *, y=None, random_state=None) ->
indices``: ``model_or_probas`` is a fitted classifier with ``predict_proba``
(scored on ``X`` in chunks) or the pool's ``(n_samples, n_classes)``
probabilities, in which case ``X`` may be None. ``y`` optionally holds the
pool's labels with ``-1`` for unlabeled rows; labeled rows are never picked.
The result has ``min(n, candidates)`` distinct int64 indices, best first, with
ties broken by ``random_state``.

The uncertainty strategies are batch-aware: with ``X`` available and ``n >
1`` they shortlist the ``diversity * n`` most uncertain rows, cluster the
shortlist into ``n`` groups and take the most uncertain row of each, so one
batch does not spend ten labels on ten near-copies of the same ambiguous
item. ``diversity=1`` gives the classic top-n.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from labeler.sampling._base import (
    DEFAULT_CHUNK_SIZE,
    Measure,
    Query,
    RandomState,
    check_random_state,
    finish,
    pool_size,
    score_pool,
    unlabeled_mask,
)
from labeler.sampling.cluster import diverse_top_n
from labeler.sampling.measures import entropy_scores, least_confidence, margin_scores

__all__ = [
    "random_sampling",
    "least_confident_sampling",
    "margin_sampling",
    "entropy_sampling",
    "random_query",
    "uncertainty_query",
    "MEASURES",
]

MEASURES: dict[str, Measure] = {
    "least_confident": least_confidence,
    "margin": margin_scores,
    "entropy": entropy_scores,
}


def random_query(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    random_state: RandomState = None,
) -> Query:
    """Uniformly random rows; the scores are the random draws themselves.

    Examples
    --------
    >>> q = random_query(None, np.zeros((5, 2)), 3, random_state=0)
    >>> len(set(q.indices.tolist())), q.scores.shape
    (3, (5,))
    """
    rng = check_random_state(random_state)
    n_pool = pool_size(model_or_probas, X)
    scores = rng.random(n_pool)
    return finish(scores, n, rng, {"measure": "random"}, unlabeled_mask(y, n_pool))


def uncertainty_query(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    measure: str | Measure = "margin",
    y: Any = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Query:
    """The ``n`` most uncertain rows by ``measure`` (name or function), batch-aware.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])
    >>> uncertainty_query(proba, None, 2, measure="entropy").indices.tolist()
    [1, 2]
    """
    rng = check_random_state(random_state)
    fn = MEASURES[measure] if isinstance(measure, str) else measure
    name = measure if isinstance(measure, str) else getattr(measure, "__name__", "custom")
    scores = score_pool(model_or_probas, X, fn, chunk_size)
    mask = unlabeled_mask(y, scores.shape[0])
    if mask is not None:
        scores[~mask] = -np.inf
    picked = diverse_top_n(X, scores, n, diversity=diversity, random_state=rng)
    return Query(picked, scores, {"measure": name, "diversity": diversity})


def random_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    random_state: RandomState = None,
) -> NDArray[np.int64]:
    """``n`` distinct rows drawn uniformly at random (the baseline).

    ``model_or_probas`` is ignored; it is there so every strategy has the
    same signature.

    Examples
    --------
    >>> a = random_sampling(None, np.zeros((10, 1)), 4, random_state=1)
    >>> b = random_sampling(None, np.zeros((10, 1)), 4, random_state=1)
    >>> a.tolist() == b.tolist(), len(set(a.tolist()))
    (True, 4)
    """
    return random_query(model_or_probas, X, n, y=y, random_state=random_state).indices


def least_confident_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NDArray[np.int64]:
    """Rows whose predicted class has the lowest probability.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.6, 0.4, 0.0]])
    >>> least_confident_sampling(proba, None, 1).tolist()
    [1]
    """
    return uncertainty_query(
        model_or_probas,
        X,
        n,
        measure="least_confident",
        y=y,
        random_state=random_state,
        diversity=diversity,
        chunk_size=chunk_size,
    ).indices


def margin_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NDArray[np.int64]:
    """Rows whose two likeliest classes are closest.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.5, 0.48, 0.02]])
    >>> margin_sampling(proba, None, 2).tolist()
    [2, 1]

    With a model, the pool is scored in chunks:

    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> margin_sampling(model, np.array([[3.0], [0.1], [-3.0]]), 1).tolist()
    [1]
    """
    return uncertainty_query(
        model_or_probas,
        X,
        n,
        measure="margin",
        y=y,
        random_state=random_state,
        diversity=diversity,
        chunk_size=chunk_size,
    ).indices


def entropy_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NDArray[np.int64]:
    """Rows whose predicted distribution has the highest entropy.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.5, 0.5, 0.0]])
    >>> entropy_sampling(proba, None, 1).tolist()
    [1]
    """
    return uncertainty_query(
        model_or_probas,
        X,
        n,
        measure="entropy",
        y=y,
        random_state=random_state,
        diversity=diversity,
        chunk_size=chunk_size,
    ).indices
