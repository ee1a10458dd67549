"""Label propagation: label the items no LF covers from their neighbours' labels.

Label spreading (Zhou et al. 2004), as scikit-learn's ``LabelSpreading`` with
a kNN kernel does it: ``F <- alpha * S @ F + (1 - alpha) * Y`` with
``S = D^-1/2 W D^-1/2`` over a kNN graph ``W``, seeded with one-hot rows ``Y``
for the seed items. Two changes let it run on a million items: the graph is
symmetric with cosine-similarity weights and sparse end to end, and for more
than ``EXACT_MAX`` items the neighbours come from PyNNDescent (approximate
nearest neighbours, BSD-2-Clause, pure wheels plus numba) instead of an exact
O(n^2) search. hnswlib was the other candidate; it ships only as a source
package (a C++ compiler at install time), so it was left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["EXACT_MAX", "knn_graph", "propagate"]

EXACT_MAX = 20_000  # up to here an exact blocked search is fast enough
BLOCK = 2048
TOL = 1e-4


def _normalized(X: Any) -> Any:
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms).astype(np.float32) @ X
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return X / norms


def _exact(Xn: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = Xn.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k), dtype=np.float32)
    XT = Xn.T.tocsc() if sp.issparse(Xn) else Xn.T
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        block = Xn[start:stop] @ XT
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        block[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # not one's own neighbour
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        idx[start:stop] = top
        sim[start:stop] = np.take_along_axis(block, top, axis=1)
    return idx, sim


def _approximate(Xn: Any, k: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    from pynndescent import NNDescent

    dense = not sp.issparse(Xn)
    index = NNDescent(
        Xn,
        metric="euclidean" if dense else "cosine",
        n_neighbors=k + 1,
        random_state=random_state,
        low_memory=True,
        compressed=True,
    )
    idx, dist = index.neighbor_graph
    idx, dist = np.asarray(idx)[:, 1:], np.asarray(dist, dtype=np.float32)[:, 1:]
    # Unit vectors: euclidean d^2 = 2 - 2 cos; pynndescent's cosine distance is 1 - cos.
    sim = 1.0 - dist**2 / 2.0 if dense else 1.0 - dist
    return idx, sim


def knn_graph(X: Any, k: int = 10, random_state: int = 0) -> sp.csr_matrix:
    """Symmetric kNN graph of the rows of ``X`` weighted by cosine similarity.

    Edges with a similarity <= 0 are dropped; exact search up to
    ``EXACT_MAX`` rows, PyNNDescent beyond.

    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_graph(X, k=1).toarray().round(2)
    array([[0.  , 0.99, 0.  , 0.  ],
           [0.99, 0.  , 0.  , 0.  ],
           [0.  , 0.  , 0.  , 0.99],
           [0.  , 0.  , 0.99, 0.  ]], dtype=float32)
    """
    n = X.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n), dtype=np.float32)
    Xn = _normalized(X)
    idx, sim = _exact(Xn, k) if n <= EXACT_MAX else _approximate(Xn, k, random_state)
    rows = np.repeat(np.arange(n), idx.shape[1])
    cols, vals = idx.ravel(), np.clip(sim.ravel(), 0.0, 1.0).astype(np.float32)
    keep = (cols >= 0) & (vals > 0) & (cols != rows)
    W = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))
    W = W.maximum(W.T).tocsr()
    W.eliminate_zeros()
    return W


def propagate(
    X: Any,
    seeds: np.ndarray,
    cardinality: int,
    k: int = 10,
    alpha: float = 0.2,
    max_iter: int = 30,
    random_state: int = 0,
    graph: sp.spmatrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Spread the seed labels over the kNN graph of ``X``.

    Parameters
    ----------
    X : (n, d) array or sparse matrix
        Item features (stored embeddings, TF-IDF or tabular); ignored when
        ``graph`` is given.
    seeds : (n,) array of int
        A label index for seed items (human labels, confident label-model
        labels), -1 elsewhere.
    cardinality : int
    k, alpha, max_iter : as scikit-learn's ``LabelSpreading(kernel="knn")``
        (``alpha`` is the weight of the neighbours against the seed).
    random_state : int
        For the approximate neighbour search.
    graph : sparse (n, n), optional
        A graph from :func:`knn_graph`, to reuse between calls.

    Returns
    -------
    labels : (n,) int64
        The label with the most mass; -1 where none arrived (unreachable
        from every seed within ``max_iter`` steps).
    confidence : (n,) float32
        That label's share of the row's mass, in [0, 1]; 0 where unreachable.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.2], [0.8, 0.3], [0.0, 1.0], [0.2, 0.9]])
    >>> labels, conf = propagate(X, np.array([0, -1, -1, 1, -1]), 2, k=1)
    >>> labels.tolist(), (conf > 0.5).all()
    ([0, 0, 0, 1, 1], np.True_)
    """
    seeds = np.asarray(seeds)
    n = seeds.shape[0]
    if graph is None:
        graph = knn_graph(X, k=k, random_state=random_state)
    W = sp.csr_matrix(graph, dtype=np.float32)
    if W.shape != (n, n):
        raise ValueError(f"graph has shape {W.shape}, expected ({n}, {n})")
    degree = np.asarray(W.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(degree)
    inv_sqrt[degree > 0] = 1.0 / np.sqrt(degree[degree > 0])
    S = (sp.diags(inv_sqrt) @ W @ sp.diags(inv_sqrt)).tocsr().astype(np.float32)
    Y = np.zeros((n, cardinality), dtype=np.float32)
    seeded = (seeds >= 0) & (seeds < cardinality)
    Y[np.flatnonzero(seeded), seeds[seeded]] = 1.0
    F = Y.copy()
    base = (1.0 - alpha) * Y
    for _ in range(max_iter):
        F_next = alpha * (S @ F) + base
        delta = float(np.abs(F_next - F).sum())
        F = F_next
        if delta < TOL:
            break
    mass = F.sum(axis=1)
    reached = mass > 0
    labels = np.where(reached, F.argmax(axis=1), -1).astype(np.int64)
    confidence = np.zeros(n, dtype=np.float32)
    confidence[reached] = F[reached].max(axis=1) / mass[reached]
    return labels, confidence
