"""Cluster-based sampling: a batch that covers the pool.

The pool is clustered with ``MiniBatchKMeans`` (fitted on at most
``max_fit_rows`` sampled rows, then every row assigned chunk by chunk), the
batch is shared across clusters in proportion to their size, and each cluster
gives its most uncertain rows (with a model) or its most central rows
(without one). Without a model this is the cold start: the most central row of
each of ``n`` clusters is a small, representative, diverse first batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin_min

from labeler.sampling._base import (
    DEFAULT_CHUNK_SIZE,
    Measure,
    Query,
    RandomState,
    allocate_batch,
    check_random_state,
    child_seed,
    few_threads,
    iter_slices,
    n_rows,
    rowwise,
    score_pool,
    take_rows,
    top_n,
    unlabeled_mask,
)
from labeler.sampling.measures import entropy_scores, least_confidence, margin_scores

__all__ = ["cluster_sampling", "cluster_query", "fit_partition", "assign", "diverse_top_n"]

_WIDE = 64

_MEASURES: dict[str, Measure] = {
    "margin": margin_scores,
    "entropy": entropy_scores,
    "least_confident": least_confidence,
}


def fit_partition(
    X: Any,
    n_clusters: int,
    *,
    rows: NDArray[np.int64] | None = None,
    max_fit_rows: int = 50_000,
    n_init: int | None = None,
    random_state: RandomState = None,
) -> MiniBatchKMeans:
    """Fit ``MiniBatchKMeans`` on (a sample of) ``X[rows]``.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> km = fit_partition(X, 2, random_state=0)
    >>> sorted(np.bincount(km.predict(X)).tolist())
    [2, 2]
    """
    rng = check_random_state(random_state)
    X = rowwise(X)
    if rows is None:
        rows = np.arange(n_rows(X), dtype=np.int64)
    if rows.size > max_fit_rows:
        rows = np.sort(rng.choice(rows, size=max_fit_rows, replace=False))
    sample = take_rows(X, rows)
    k = max(1, min(int(n_clusters), rows.size))
    if n_init is None:
        # several starts help small samples; on large ones k-means++ is stable
        # and each start costs seconds
        n_init = 3 if rows.size < 10_000 else 1
    km = MiniBatchKMeans(
        n_clusters=k,
        n_init=n_init,
        batch_size=min(4096, max(256, rows.size)),
        random_state=child_seed(rng),
    )
    with few_threads(rows.size):
        return km.fit(sample)


def assign(
    km: MiniBatchKMeans,
    X: Any,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    rows: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Cluster of every row (or of ``X[rows]``) and its distance to the centre.

    Works chunk by chunk, so only one chunk of ``X`` is ever copied.
    """
    X = rowwise(X)
    n = n_rows(X) if rows is None else rows.size
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    centers = km.cluster_centers_
    if sp.issparse(X):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2 with one sparse x dense
        # product per chunk: 4x faster than the generic pairwise path on TF-IDF
        centers_t = np.ascontiguousarray(centers.T)
        c_sq = (centers**2).sum(axis=1)
    with few_threads(n):
        for sl in iter_slices(n, chunk_size):
            chunk = take_rows(X, sl if rows is None else rows[sl])
            if sp.issparse(chunk):
                d2 = np.asarray(chunk @ centers_t)
                d2 *= -2.0
                d2 += c_sq
                lab = d2.argmin(axis=1)
                x_sq = np.asarray(chunk.multiply(chunk).sum(axis=1)).ravel()
                best = d2[np.arange(lab.size), lab] + x_sq
                labels[sl] = lab
                dist[sl] = np.sqrt(np.maximum(best, 0.0))
            else:
                lab, d = pairwise_distances_argmin_min(chunk, centers)
                labels[sl] = lab
                dist[sl] = d
    return labels, dist


def pick_per_group(
    groups: NDArray[np.int64],
    score: NDArray[np.float64],
    alloc: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """From group ``g`` take its ``alloc[g]`` best-scoring rows (ties at random).

    ``-inf`` rows are never taken. Returns the picks, best score first.

    Examples
    --------
    >>> pick_per_group(np.array([0, 0, 1, 1]), np.array([0.1, 0.9, 0.5, 0.2]),
    ...                np.array([1, 1]), np.random.default_rng(0)).tolist()
    [1, 2]
    """
    ok = np.flatnonzero(np.isfinite(score))
    order = ok[np.lexsort((rng.random(ok.size), -score[ok], groups[ok]))]
    g_sorted = groups[order]
    starts = np.searchsorted(g_sorted, np.arange(alloc.size))
    rank_in_group = np.arange(order.size) - starts[g_sorted]
    picked = order[rank_in_group < alloc[g_sorted]]
    return picked[np.lexsort((rng.random(picked.size), -score[picked]))].astype(np.int64)


def diverse_top_n(
    X: Any,
    scores: NDArray[np.float64],
    n: int,
    *,
    diversity: float = 5.0,
    random_state: RandomState = None,
) -> NDArray[np.int64]:
    """Batch-aware top ``n``: the best row of each of ``n`` clusters of the top ``diversity * n``.

    Plain top-n fills a batch with near-duplicates from the densest uncertain
    spot; clustering a short list of the most uncertain rows and taking the
    best of each cluster (Zhdanov 2019, "diverse mini-batch active learning")
    spreads the batch at almost no cost. ``diversity <= 1``, ``n <= 1`` or
    ``X=None`` give the plain top ``n``.

    Examples
    --------
    Two tight pairs of equally uncertain rows: plain top-2 may take one pair,
    the batch-aware pick takes one row of each.

    >>> X = np.array([[0.0], [0.01], [5.0], [5.01], [9.0]])
    >>> s = np.array([0.9, 0.9, 0.8, 0.8, 0.1])
    >>> sorted(i // 2 for i in diverse_top_n(X, s, 2, diversity=2, random_state=0).tolist())
    [0, 1]
    """
    rng = check_random_state(random_state)
    if X is None or diversity <= 1 or n <= 1:
        return top_n(scores, n, rng)
    cand = top_n(scores, int(np.ceil(diversity * n)), rng)
    if cand.size <= n:
        return cand
    cand = np.sort(cand)
    short = take_rows(rowwise(X), cand)
    if sp.issparse(short) or short.shape[1] > 4 * _WIDE:
        # wide or sparse (TF-IDF): k-means on a random projection of the short
        # list keeps distances roughly (Johnson-Lindenstrauss) at a fraction
        # of the cost of dense centres in tens of thousands of dimensions
        proj = rng.standard_normal((short.shape[1], _WIDE)) / np.sqrt(_WIDE)
        short = np.asarray(short @ proj)
    # plain k-means with one start: the shortlist is small (half the time of
    # MiniBatchKMeans here) and only needs spreading out
    km = KMeans(n_clusters=n, n_init=1, random_state=child_seed(rng))
    with few_threads(cand.size):
        labels = km.fit(short).labels_.astype(np.int64)
    sizes = np.bincount(labels, minlength=n)
    alloc = allocate_batch(sizes, n, capacity=sizes, random_state=rng)
    return cand[pick_per_group(labels, scores[cand], alloc, rng)]


def cluster_query(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    n_clusters: int | None = None,
    select: str = "auto",
    measure: str | Measure = "margin",
    max_fit_rows: int = 50_000,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Query:
    """Cluster the candidates and take the best rows of each cluster.

    Parameters
    ----------
    model_or_probas : classifier, ndarray or None
        None for the cold start (central rows).
    X : array-like or sparse matrix of shape (n_samples, n_features)
        The pool; always needed (clustering works on features).
    n : int
        Batch size.
    y : array-like, optional
        Pool labels, ``-1`` for unlabeled; only unlabeled rows are clustered
        and picked.
    n_clusters : int, optional
        Defaults to ``n``: one pick per cluster.
    select : {"auto", "uncertain", "central"}
        What each cluster gives: its most uncertain rows (needs a model), its
        rows nearest the centre, or ``"auto"``: uncertain with a model,
        central without.
    measure : str or callable
        Uncertainty measure for ``select="uncertain"``.
    max_fit_rows : int
        Fit k-means on at most this many sampled rows.
    """
    if X is None:
        raise ValueError("cluster sampling needs the pool's features X")
    rng = check_random_state(random_state)
    X = rowwise(X)
    n_pool = n_rows(X)
    mask = unlabeled_mask(y, n_pool)
    candidates = np.flatnonzero(mask) if mask is not None else np.arange(n_pool, dtype=np.int64)
    n = min(int(n), candidates.size)
    if select == "auto":
        select = "central" if model_or_probas is None else "uncertain"
    if select not in ("uncertain", "central"):
        raise ValueError(f"select must be 'auto', 'uncertain' or 'central', got {select!r}")
    if select == "uncertain" and model_or_probas is None:
        raise ValueError("select='uncertain' needs a model or probabilities")
    info: dict[str, Any] = {"select": select}
    if n <= 0:
        return Query(np.empty(0, dtype=np.int64), np.full(n_pool, -np.inf), info)
    k = max(1, min(int(n_clusters or n), candidates.size))
    km = fit_partition(X, k, rows=candidates, max_fit_rows=max_fit_rows, random_state=rng)
    labels, dist = assign(km, X, chunk_size)
    centrality = -dist
    if select == "uncertain":
        fn = _MEASURES[measure] if isinstance(measure, str) else measure
        scores = score_pool(model_or_probas, X, fn, chunk_size)
    else:
        scores = centrality
    if mask is not None:
        scores[~mask] = -np.inf
    sizes = np.bincount(labels[candidates], minlength=k)
    alloc = allocate_batch(sizes, n, capacity=sizes, random_state=rng)
    picked = pick_per_group(labels, scores, alloc, rng)
    info.update({"n_clusters": k, "clusters_used": int((alloc > 0).sum())})
    return Query(picked, scores, info)


def cluster_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    n_clusters: int | None = None,
    select: str = "auto",
    measure: str | Measure = "margin",
    max_fit_rows: int = 50_000,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NDArray[np.int64]:
    """A batch spread over ``n`` clusters of the pool (see :func:`cluster_query`).

    Examples
    --------
    Cold start (no model): one central row from each blob.

    >>> X = np.array([[0.0, 0.0], [0.2, 0.0], [-0.2, 0.0], [9.0, 9.0], [9.2, 9.0], [8.8, 9.0]])
    >>> sorted(cluster_sampling(None, X, 2, random_state=0).tolist())
    [0, 3]
    """
    return cluster_query(
        model_or_probas,
        X,
        n,
        y=y,
        n_clusters=n_clusters,
        select=select,
        measure=measure,
        max_fit_rows=max_fit_rows,
        random_state=random_state,
        chunk_size=chunk_size,
    ).indices
