"""Shared plumbing for the strategies: chunked scoring, reproducible top-n, results.

Everything here walks the pool in row chunks so that scoring a 1,000,000 x 64
pool never materialises a float64 array of the pool's size: only one chunk of
probabilities (``chunk_size x n_classes``) and one score per row live at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

DEFAULT_CHUNK_SIZE = 65_536

#: Work on fewer rows than this runs on one BLAS/OpenMP thread. On small
#: inputs extra threads mostly spin-wait for each other, and on a busy
#: machine that made a 30-row logistic regression fit 30x slower (236 ms
#: instead of 8 ms) and a 400-row k-means 50x slower.
SMALL_INPUT_ROWS = 20_000

_CONTROLLER: Any = None


def few_threads(n: int, threshold: int = SMALL_INPUT_ROWS) -> AbstractContextManager[Any]:
    """A context that runs BLAS and OpenMP on one thread when ``n < threshold``.

    Examples
    --------
    >>> with few_threads(10):
    ...     float(np.ones((3, 3)).dot(np.ones(3)).sum())
    9.0
    """
    global _CONTROLLER
    if n >= threshold:
        return nullcontext()
    if _CONTROLLER is None:
        # scipy and scikit-learn bring their own BLAS/OpenMP: load them before
        # the controller takes its (cached) inventory of thread pools
        import scipy.linalg  # noqa: F401
        import scipy.optimize  # noqa: F401
        import sklearn.cluster  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


Measure = Callable[[NDArray[Any]], NDArray[Any]]
RandomState = int | np.random.Generator | np.random.RandomState | None


@dataclass
class Query:
    """What a strategy picked, and why.

    Attributes
    ----------
    indices : ndarray of int64
        Rows to label next, most valuable first, no duplicates.
    scores : ndarray of float64
        A priority for every row of the pool (higher = more valuable), used to
        rank the rest of the pool below the batch. Rows that must never be
        picked (already labeled) are ``-inf``.
    info : dict
        Strategy-specific details (measure used, clusters, regions...).
    """

    indices: NDArray[np.int64]
    scores: NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn ``random_state`` into a ``numpy.random.Generator``.

    Examples
    --------
    >>> bool(check_random_state(0).integers(10) == check_random_state(0).integers(10))
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def child_seed(rng: np.random.Generator) -> int:
    """An int seed drawn from ``rng``, for scikit-learn estimators."""
    return int(rng.integers(0, 2**31 - 1))


def n_rows(X: Any) -> int:
    """Number of rows of a dense array, sparse matrix or sequence."""
    shape = getattr(X, "shape", None)
    if shape is not None:
        return int(shape[0])
    return len(X)


def iter_slices(n: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[slice]:
    """Consecutive row slices covering ``range(n)``.

    Examples
    --------
    >>> list(iter_slices(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    chunk_size = max(int(chunk_size), 1)
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def rowwise(X: Any) -> Any:
    """``X`` in a layout with cheap row slices: sparse input becomes CSR (once)."""
    if sp.issparse(X) and X.format != "csr":
        return X.tocsr()
    return X


def take_rows(X: Any, rows: NDArray[np.int64] | slice) -> Any:
    """Rows of ``X`` (dense array or CSR matrix).

    A contiguous slice of a CSR matrix is a view on its arrays: scipy's own
    row slicing copies the chunk's data, which over a whole TF-IDF pool is a
    full copy of it.
    """
    if isinstance(rows, slice) and sp.issparse(X) and X.format == "csr":
        start, stop, step = rows.indices(X.shape[0])
        if step == 1:
            stop = max(stop, start)
            lo, hi = X.indptr[start], X.indptr[stop]
            indptr = X.indptr[start : stop + 1] - lo
            return sp.csr_matrix(
                (X.data[lo:hi], X.indices[lo:hi], indptr),
                shape=(stop - start, X.shape[1]),
                copy=False,
            )
    return X[rows]


def is_plain_logreg(model: Any) -> bool:
    """True for a fitted, unsubclassed ``LogisticRegression``.

    Its ``predict_proba`` is a softmax (or a sigmoid for two classes) of
    ``X @ coef_.T + intercept_``, which we reproduce chunk by chunk without
    the input validation pass that copies the chunk.
    """
    from sklearn.linear_model import LogisticRegression

    return type(model) is LogisticRegression and hasattr(model, "coef_")


def _softmax_inplace(z: NDArray[Any]) -> NDArray[Any]:
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def linear_proba(
    X_chunk: Any, coef: NDArray[Any], intercept: NDArray[Any], n_models: int = 1
) -> NDArray[Any]:
    """Probabilities of ``n_models`` stacked logistic regressions on one chunk.

    ``coef`` is ``(n_features, n_models * n_out)`` and ``intercept`` is
    ``(n_models * n_out,)`` where ``n_out`` is 1 for binary models (sigmoid)
    and ``n_classes`` otherwise (softmax). Returns ``(n_models, n_rows,
    n_classes)`` (a view, not necessarily contiguous).
    """
    z = np.asarray(X_chunk @ coef)
    z += intercept
    # float32 from here: after the max is subtracted the softmax is safe in
    # single precision and twice as fast, and scores need no more digits
    z = z.astype(np.float32)
    m = z.shape[0]
    n_out = z.shape[1] // n_models
    z3 = z.reshape(m, n_models, n_out)
    if n_out == 1:
        p1 = expit(z3)
        proba = np.concatenate([np.float32(1.0) - p1, p1], axis=2)
    else:
        proba = _softmax_inplace(z3)
    return proba.transpose(1, 0, 2)


def proba_chunks(
    model_or_probas: Any, X: Any, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[tuple[slice, NDArray[Any]]]:
    """Yield ``(rows, proba)`` for consecutive chunks of the pool.

    ``model_or_probas`` is a fitted classifier with ``predict_proba`` or an
    ``(n_samples, n_classes)`` array of probabilities already computed.
    """
    if isinstance(model_or_probas, np.ndarray):
        proba = model_or_probas
        if proba.ndim != 2:
            raise ValueError(f"probabilities must be 2-D (n_samples, n_classes), got {proba.shape}")
        for sl in iter_slices(proba.shape[0], chunk_size):
            yield sl, proba[sl]
        return
    if X is None:
        raise ValueError("X is required when a model (not probabilities) is given")
    n = n_rows(X)
    X = rowwise(X)
    if is_plain_logreg(model_or_probas):
        coef = np.ascontiguousarray(model_or_probas.coef_.T)
        intercept = np.asarray(model_or_probas.intercept_, dtype=coef.dtype)
        for sl in iter_slices(n, chunk_size):
            yield sl, linear_proba(take_rows(X, sl), coef, intercept)[0]
        return
    if not hasattr(model_or_probas, "predict_proba"):
        raise TypeError(
            f"{type(model_or_probas).__name__} has no predict_proba; pass a probabilistic "
            "classifier or an (n_samples, n_classes) probability array"
        )
    for sl in iter_slices(n, chunk_size):
        yield sl, np.asarray(model_or_probas.predict_proba(take_rows(X, sl)))


def pool_size(model_or_probas: Any, X: Any) -> int:
    """Rows in the pool, from ``X`` or else from a probability array."""
    if X is not None:
        return n_rows(X)
    if isinstance(model_or_probas, np.ndarray):
        return int(model_or_probas.shape[-2])
    raise ValueError("X is required when a model (not probabilities) is given")


def score_pool(
    model_or_probas: Any, X: Any, measure: Measure, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> NDArray[np.float64]:
    """Apply a probability ``measure`` chunk by chunk; one float64 per row.

    Examples
    --------
    >>> from labeler.sampling.measures import least_confidence
    >>> score_pool(np.array([[0.9, 0.1], [0.5, 0.5]]), None, least_confidence, chunk_size=1)
    array([0.1, 0.5])
    """
    n = pool_size(model_or_probas, X)
    scores = np.empty(n, dtype=np.float64)
    for sl, proba in proba_chunks(model_or_probas, X, chunk_size):
        scores[sl] = measure(proba)
    return scores


def unlabeled_mask(y: Any, n: int) -> NDArray[np.bool_] | None:
    """Mask of rows still to label (``y == -1``), or None when ``y`` is None."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} entries but the pool has {n} rows")
    return np.asarray(y == -1)


def top_n(scores: NDArray[Any], n: int, random_state: RandomState = None) -> NDArray[np.int64]:
    """Indices of the ``n`` highest finite scores, ties broken by ``random_state``.

    Linear time: a partition finds the threshold, only the rows at or above it
    are sorted. ``-inf`` and NaN rows are never returned.

    Examples
    --------
    >>> s = np.array([0.2, 0.9, 0.9, 0.1, 0.9])
    >>> sorted(top_n(s, 2, random_state=0).tolist()) == sorted(top_n(s, 2, random_state=0).tolist())
    True
    >>> top_n(s, 10, random_state=0).shape
    (5,)
    """
    rng = check_random_state(random_state)
    scores = np.asarray(scores, dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(scores) | (scores == np.inf))
    n = min(int(n), valid.size)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    vs = scores[valid]
    if n < valid.size:
        kth = np.argpartition(-vs, n - 1)[:n]
        threshold = vs[kth].min()
        cand = np.flatnonzero(vs >= threshold)
    else:
        cand = np.arange(valid.size)
    keys = rng.random(cand.size)
    order = np.lexsort((keys, -vs[cand]))[:n]
    return valid[cand[order]].astype(np.int64)


def rank_order(scores: NDArray[Any], random_state: RandomState = None) -> NDArray[np.int64]:
    """All rows, highest score first, ties broken by ``random_state``; ``-inf``/NaN last.

    Examples
    --------
    >>> rank_order(np.array([0.1, 0.7, -np.inf, 0.3]), random_state=0).tolist()
    [1, 3, 0, 2]
    """
    rng = check_random_state(random_state)
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    return np.lexsort((rng.random(s.size), -s)).astype(np.int64)


def batch_on_top(scores: NDArray[np.float64], indices: NDArray[np.int64]) -> NDArray[np.float64]:
    """Scores where the batch, in its order, sits above every other row.

    Examples
    --------
    >>> batch_on_top(np.array([0.5, 0.2, 0.9]), np.array([1, 0])).tolist()
    [1.9, 2.9, 0.9]
    """
    out = np.array(scores, dtype=np.float64, copy=True)
    finite = out[np.isfinite(out)]
    top = float(finite.max()) if finite.size else 0.0
    k = len(indices)
    out[indices] = top + np.arange(k, 0, -1, dtype=np.float64)
    return out


def finish(
    scores: NDArray[np.float64],
    n: int,
    random_state: RandomState,
    info: dict[str, Any] | None = None,
    mask: NDArray[np.bool_] | None = None,
) -> Query:
    """Exclude masked-out rows, take the top ``n`` and wrap a :class:`Query`."""
    if mask is not None:
        scores[~mask] = -np.inf
    return Query(top_n(scores, n, random_state), scores, dict(info or {}))


def allocate_batch(
    weights: ArrayLike,
    n: int,
    *,
    floor: int = 0,
    capacity: ArrayLike | None = None,
    random_state: RandomState = None,
) -> NDArray[np.int64]:
    """Split ``n`` picks across groups in proportion to ``weights``.

    Every group with capacity first gets ``floor`` picks (so none starves);
    the rest is shared by the largest-remainder method in proportion to
    ``weights``, never giving a group more than its ``capacity``. The result
    sums to exactly ``min(n, capacity.sum())``. When ``n`` cannot cover the
    floor of every group, the heaviest groups get theirs first (ties broken
    by ``random_state``).

    Examples
    --------
    >>> allocate_batch([6, 3, 1], 10).tolist()
    [6, 3, 1]
    >>> allocate_batch([100, 1, 0], 10, floor=1).tolist()
    [8, 1, 1]
    >>> allocate_batch([5, 5], 10, capacity=[2, 20]).tolist()
    [2, 8]
    >>> int(allocate_batch([0.2, 0.3, 0.5], 7, floor=2).sum())
    7
    """
    rng = check_random_state(random_state)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0, posinf=0.0)
    w = np.clip(w, 0.0, None)
    g = w.size
    cap = np.full(g, max(int(n), 0), dtype=np.int64)
    if capacity is not None:
        cap = np.minimum(cap, np.asarray(capacity, dtype=np.int64))
    cap = np.clip(cap, 0, None)
    total = int(min(int(n), int(cap.sum())))
    alloc = np.zeros(g, dtype=np.int64)
    if total <= 0:
        return alloc
    eligible = np.flatnonzero(cap > 0)
    if floor > 0:
        base = np.minimum(cap[eligible], floor)
        if base.sum() <= total:
            alloc[eligible] = base
        else:
            # not enough for every floor: one pick at a time, heaviest group first
            order = eligible[np.lexsort((rng.random(eligible.size), -w[eligible]))]
            left = total
            while left > 0:
                for gi in order:
                    if left == 0:
                        break
                    if alloc[gi] < min(cap[gi], floor):
                        alloc[gi] += 1
                        left -= 1
            return alloc
    left = total - int(alloc.sum())
    while left > 0:
        room = cap - alloc
        open_ = room > 0
        ww = np.where(open_, w, 0.0)
        if ww.sum() <= 0:
            ww = open_.astype(np.float64)
        share = ww / ww.sum() * left
        whole = np.minimum(np.floor(share).astype(np.int64), room)
        alloc += whole
        left -= int(whole.sum())
        if left <= 0:
            break
        room = cap - alloc
        frac = np.where(room > 0, share - np.floor(share), -1.0)
        # largest remainders first; ties (and zero remainders) by weight, then at random
        order = np.lexsort((rng.random(g), -ww, -frac))
        for gi in order:
            if left == 0:
                break
            if room[gi] > 0 and frac[gi] >= 0:
                alloc[gi] += 1
                left -= 1
                room[gi] -= 1
    return alloc
