"""Strategies by name, the cold start, and a ranking of the whole pool.

:func:`select` is what a training round calls: it picks the batch with the
named strategy, unless the model cannot be trusted yet (no model, or some
class without a label) in which case it falls back to the cluster cold start
and says so in ``info``. :func:`rank` does the same and returns a priority for
every row, the batch on top, so the service can write an ordering of the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from labeler.sampling._base import (
    DEFAULT_CHUNK_SIZE,
    Query,
    RandomState,
    batch_on_top,
    check_random_state,
    few_threads,
    n_rows,
    rank_order,
)
from labeler.sampling.cluster import cluster_query, cluster_sampling
from labeler.sampling.committee import committee_query, committee_sampling
from labeler.sampling.names import STRATEGY_NAMES
from labeler.sampling.region import RegionSampler, region_query, region_sampling
from labeler.sampling.uncertainty import (
    entropy_sampling,
    least_confident_sampling,
    margin_sampling,
    random_query,
    random_sampling,
    uncertainty_query,
)

__all__ = ["STRATEGIES", "Selection", "Ranking", "cold_start_reason", "query", "select", "rank"]

Strategy = Callable[..., NDArray[np.int64]]

STRATEGIES: dict[str, Strategy] = {
    "random": random_sampling,
    "least_confident": least_confident_sampling,
    "margin": margin_sampling,
    "entropy": entropy_sampling,
    "committee": committee_sampling,
    "cluster": cluster_sampling,
    "region": region_sampling,
}
if tuple(STRATEGIES) != STRATEGY_NAMES:  # one list of names, two views of it
    raise ImportError("labeler.sampling.names.STRATEGY_NAMES disagrees with STRATEGIES")


class Selection(NamedTuple):
    """The batch and how it was chosen (``strategy_used``, ``cold_start``, ...)."""

    indices: NDArray[np.int64]
    info: dict[str, Any]


@dataclass
class Ranking:
    """A priority for every row of the pool.

    Attributes
    ----------
    order : ndarray of int64
        All rows, highest priority first (labeled rows last).
    scores : ndarray of float64
        Priority per row (higher first); the batch is above every other row,
        in its own order; labeled rows are ``-inf``.
    indices : ndarray of int64
        The batch: ``order[:len(indices)]``.
    info : dict
    """

    order: NDArray[np.int64]
    scores: NDArray[np.float64]
    indices: NDArray[np.int64]
    info: dict[str, Any] = field(default_factory=dict)


def cold_start_reason(
    model: Any, y: Any = None, classes: Sequence[Any] | None = None
) -> str | None:
    """Why the model cannot drive sampling yet, or None when it can.

    Examples
    --------
    >>> cold_start_reason(None)
    'no model yet'
    >>> cold_start_reason(object(), y=[0, -1, 0], classes=[0, 1])
    'no label yet for class 1'
    >>> cold_start_reason(object(), y=[0, 1, -1], classes=[0, 1]) is None
    True
    """
    if model is None:
        return "no model yet"
    labeled: set[Any] | None = None
    if y is not None:
        y_arr = np.asarray(y)
        labeled = set(np.unique(y_arr[y_arr != -1]).tolist())
    if classes is None:
        fitted = getattr(model, "classes_", None)
        classes = list(fitted) if fitted is not None else (sorted(labeled) if labeled else None)
    wanted = set(np.asarray(classes).tolist()) if classes is not None else set()
    if labeled is None:
        fitted = getattr(model, "classes_", None)
        labeled = set(np.asarray(fitted).tolist()) if fitted is not None else wanted
    missing = sorted(wanted - labeled, key=str)
    if missing:
        names = ", ".join(str(c) for c in missing[:10]) + (", ..." if len(missing) > 10 else "")
        plural = "es" if len(missing) > 1 else ""
        return f"no label yet for class{plural} {names}"
    if len(labeled) < 2:
        return "fewer than two classes labeled"
    return None


def query(
    name: str,
    model: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    classes: Sequence[Any] | None = None,
    ids: Any = None,
    state: RegionSampler | None = None,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> Query:
    """Run strategy ``name`` (or the cold start) and return its :class:`Query`.

    See :func:`select` for the parameters.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {sorted(STRATEGIES)}")
    with few_threads(n_rows(X) if X is not None else 0):
        return _query(
            name,
            model,
            X,
            n,
            y=y,
            classes=classes,
            ids=ids,
            state=state,
            random_state=random_state,
            chunk_size=chunk_size,
            **options,
        )


def _query(
    name: str,
    model: Any,
    X: Any,
    n: int,
    *,
    y: Any,
    classes: Sequence[Any] | None,
    ids: Any,
    state: RegionSampler | None,
    random_state: RandomState,
    chunk_size: int,
    **options: Any,
) -> Query:
    rng = check_random_state(random_state)
    reason = None if name == "random" else cold_start_reason(model, y, classes)
    common: dict[str, Any] = {"y": y, "random_state": rng}
    if reason is not None:
        q = cluster_query(None, X, n, chunk_size=chunk_size, **common)
        used = "cluster"
    elif name == "random":
        q = random_query(model, X, n, **common)
        used = name
    elif name in ("least_confident", "margin", "entropy"):
        q = uncertainty_query(model, X, n, measure=name, chunk_size=chunk_size, **common, **options)
        used = name
    elif name == "committee":
        q = committee_query(model, X, n, chunk_size=chunk_size, **common, **options)
        used = name
    elif name == "cluster":
        q = cluster_query(model, X, n, chunk_size=chunk_size, **common, **options)
        used = name
    else:
        q = region_query(
            model,
            X,
            n,
            y=y,
            ids=ids,
            sampler=state,
            random_state=rng,
            chunk_size=chunk_size,
            **options,
        )
        used = name
    q.info.update(
        {
            "strategy": name,
            "strategy_used": used,
            "cold_start": reason is not None,
            "reason": reason,
        }
    )
    return q


def select(
    name: str,
    model: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    classes: Sequence[Any] | None = None,
    ids: Any = None,
    state: RegionSampler | None = None,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> Selection:
    """Pick the next batch of ``n`` rows with strategy ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`STRATEGIES`.
    model : fitted classifier or None
        None (or a model that has not seen every class) means cold start:
        every strategy but ``random`` then uses the cluster cold start.
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        The whole pool, labeled rows included.
    n : int
        Batch size.
    y : array-like of shape (n_samples,), optional
        Labels so far, ``-1`` for unlabeled. Labeled rows are never picked.
    classes : sequence, optional
        Every class of the project, to detect classes still without a label.
    ids : array-like, optional
        Stable item ids, for the region sampler's memory across rounds.
    state : RegionSampler, optional
        The region sampler kept between rounds (``"region"`` only).
    random_state : int, Generator or None
        Breaks ties and seeds clustering, committees and the bandit.
    **options
        Passed to the strategy (``measure=`` for committee, ``n_clusters=``...).

    Returns
    -------
    Selection
        ``(indices, info)`` with ``info["strategy_used"]``, ``info["cold_start"]``
        and ``info["reason"]``.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1], [9.0], [9.1]])
    >>> idx, info = select("margin", None, X, 2, y=[-1] * 6, classes=[0, 1], random_state=0)
    >>> info["strategy_used"], info["cold_start"], info["reason"]
    ('cluster', True, 'no model yet')
    >>> len(set(idx.tolist()))
    2
    """
    q = query(
        name,
        model,
        X,
        n,
        y=y,
        classes=classes,
        ids=ids,
        state=state,
        random_state=random_state,
        chunk_size=chunk_size,
        **options,
    )
    return Selection(q.indices, q.info)


def rank(
    name: str,
    model: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    classes: Sequence[Any] | None = None,
    ids: Any = None,
    state: RegionSampler | None = None,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> Ranking:
    """Order the whole pool: the batch of ``n`` on top, then by the strategy's score.

    Same parameters as :func:`select`.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[-3.0], [-1.5], [0.2], [1.0], [3.0], [0.0]])
    >>> y = np.array([0, -1, -1, -1, 1, -1])
    >>> model = LogisticRegression().fit(X[[0, 4]], [0, 1])
    >>> r = rank("margin", model, X, 1, y=y, random_state=0)
    >>> r.order[:4].tolist(), r.indices.tolist()
    ([5, 2, 3, 1], [5])
    >>> bool(np.isneginf(r.scores[[0, 4]]).all())
    True
    """
    rng = check_random_state(random_state)
    q = query(
        name,
        model,
        X,
        n,
        y=y,
        classes=classes,
        ids=ids,
        state=state,
        random_state=rng,
        chunk_size=chunk_size,
        **options,
    )
    scores = batch_on_top(q.scores, q.indices)
    if y is not None:
        scores[np.asarray(y) != -1] = -np.inf
    order = rank_order(scores, rng)
    assert n_rows(order) == scores.shape[0]
    return Ranking(order, scores, q.indices, q.info)
