"""Offline active-learning simulation: the true labels play the oracle.

For each seed: a stratified held-out split (``test_size``), a small random
seed set from the pool, then rounds of ``train -> score on the held-out split
-> select a batch -> reveal its labels`` until ``budget`` labels. Every
strategy sees the same splits and seed sets, so curves are paired by seed.
``labeler simulate`` writes :func:`simulate`'s rows with :func:`write_csv` and
the plot with :func:`plot_curves` (both in :mod:`labeler.learning.curves`).

What does not change between rounds is computed once: the features (by the
caller, before any strategy or seed), each seed's split and its pool and test
rows. A (seed, strategy) cell depends only on its seed and name, never on
which cells ran before it in the same process, so ``n_jobs`` worker
processes give the same rows as one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from labeler.learning.curves import (
    CSV_COLUMNS,
    labels_to_reach,
    plot_curves,
    read_csv,
    summarize,
    write_csv,
)
from labeler.learning.training import make_model, train
from labeler.sampling._base import few_threads, rowwise, take_rows
from labeler.sampling.region import RegionSampler
from labeler.sampling.registry import STRATEGIES, select

__all__ = [
    "CSV_COLUMNS",
    "simulate",
    "reference_accuracy",
    "summarize",
    "labels_to_reach",
    "write_csv",
    "read_csv",
    "plot_curves",
]


def _split(X: Any, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(y.shape[0])
    pool, test = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    return np.sort(pool), np.sort(test)


def _evaluate(
    model: BaseEstimator | None, y_seen: np.ndarray, X_test: Any, y_test: np.ndarray
) -> tuple[float, float]:
    if model is not None:
        pred = model.predict(X_test)
    else:
        # one class seen so far: the only thing a model could predict
        values, counts = np.unique(y_seen, return_counts=True)
        pred = np.full(y_test.shape[0], values[counts.argmax()])
    return (
        float(accuracy_score(y_test, pred)),
        float(f1_score(y_test, pred, average="macro", zero_division=0)),
    )


def simulate(
    X: Any,
    y: ArrayLike,
    strategies: Sequence[str],
    *,
    budget: int,
    batch: int,
    seeds: int | Sequence[int] = 5,
    n_initial: int | None = None,
    test_size: float = 0.25,
    model_name: str = "logreg",
    model: BaseEstimator | None = None,
    progress: bool = False,
    strategy_options: dict[str, dict[str, Any]] | None = None,
    n_jobs: int = 1,
) -> list[dict[str, Any]]:
    """Run the active-learning loop offline for every strategy and seed.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Featurized once by the caller; every strategy and seed reuses it.
    y : array-like of shape (n_samples,)
        The true labels (the oracle).
    strategies : sequence of str
        Keys of :data:`labeler.sampling.STRATEGIES`.
    budget : int
        Total labels per run, seed set included.
    batch : int
        Labels bought per round.
    seeds : int or sequence of int
        ``5`` means seeds ``0..4``.
    n_initial : int, optional
        Random seed-set size; default ``batch``.
    test_size : float
        Held-out share (stratified).
    model_name, model
        The classifier (see :func:`~labeler.learning.training.make_model`).
    progress : bool
        Show a tqdm progress bar.
    strategy_options : dict, optional
        Extra keyword arguments per strategy name.
    n_jobs : int, default=1
        Worker processes for the (seed, strategy) cells. The rows, and their
        order, do not depend on it. The workers are spawned (not forked), so a
        script calling this with ``n_jobs > 1`` needs the usual
        ``if __name__ == "__main__":`` guard.

    Returns
    -------
    list of dict
        One row per strategy, seed and round: ``strategy, seed, n_labels,
        accuracy, macro_f1`` plus ``strategy_used`` and ``cold_start``;
        seeds in order, strategies in the given order within a seed.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(120, centers=3, random_state=0)
    >>> rows = simulate(X, y, ["random", "margin"], budget=12, batch=4, seeds=2)
    >>> len(rows), sorted({r["n_labels"] for r in rows})
    (12, [4, 8, 12])
    >>> sorted(rows[0])
    ['accuracy', 'cold_start', 'macro_f1', 'n_labels', 'seed', 'strategy', 'strategy_used']
    """
    for name in strategies:
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; expected one of {sorted(STRATEGIES)}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    y_all = np.asarray(y)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    n_initial = batch if n_initial is None else n_initial
    setup = _Setup(
        X=rowwise(X),
        y=y_all,
        budget=budget,
        batch=batch,
        n_initial=n_initial,
        test_size=test_size,
        classes=np.unique(y_all).tolist(),
        model=model,
        model_name=model_name,
        options=strategy_options or {},
    )
    cells = [(seed, name) for seed in seed_list for name in strategies]
    rounds_per_run = 1 + max(0, -(-(budget - n_initial) // batch))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(cells) * rounds_per_run, unit="round")
    try:
        if n_jobs == 1 or len(cells) <= 1:
            results = _run_here(setup, cells, bar)
        else:
            results = _run_in_processes(setup, cells, bar, min(n_jobs, len(cells)))
    finally:
        if bar is not None:
            bar.close()
    return [row for cell in cells for row in results[cell]]


@dataclass
class _Setup:
    """What every (seed, strategy) cell shares; sent once to each worker process."""

    X: Any
    y: np.ndarray
    budget: int
    batch: int
    n_initial: int
    test_size: float
    classes: list[Any]
    model: BaseEstimator | None
    model_name: str
    options: dict[str, dict[str, Any]]


@dataclass
class _SeedData:
    X_pool: Any
    y_pool: np.ndarray
    X_test: Any
    y_test: np.ndarray
    init: np.ndarray


Cell = tuple[int, str]


def _seed_data(setup: _Setup, seed: int) -> _SeedData:
    pool, test = _split(setup.X, setup.y, setup.test_size, seed)
    init = np.random.default_rng(seed).choice(
        pool.size, size=min(setup.n_initial, pool.size), replace=False
    )
    return _SeedData(
        take_rows(setup.X, pool), setup.y[pool], take_rows(setup.X, test), setup.y[test], init
    )


def _run_here(setup: _Setup, cells: list[Cell], bar: Any) -> dict[Cell, list[dict[str, Any]]]:
    tick = (lambda: bar.update(1)) if bar is not None else None
    by_seed: dict[int, _SeedData] = {}
    out = {}
    with few_threads(setup.y.shape[0]):
        for seed, name in cells:
            if seed not in by_seed:
                by_seed.clear()  # cells come seed by seed: keep one seed's rows at a time
                by_seed[seed] = _seed_data(setup, seed)
            out[(seed, name)] = _run_cell(setup, by_seed[seed], seed, name, tick)
    return out


# In a worker process: the shared setup (sent once) and the last seed's rows.
_WORKER: dict[str, Any] = {}


def _init_worker(setup: _Setup) -> None:
    from threadpoolctl import threadpool_limits

    # n_jobs processes already use the cores; BLAS threads on top would fight them
    _WORKER["limits"] = threadpool_limits(limits=1)
    _WORKER["setup"] = setup
    _WORKER["seed"] = None


def _worker_cell(cell: Cell) -> tuple[Cell, list[dict[str, Any]]]:
    setup: _Setup = _WORKER["setup"]
    seed, name = cell
    if _WORKER["seed"] != seed:
        _WORKER["data"], _WORKER["seed"] = _seed_data(setup, seed), seed
    return cell, _run_cell(setup, _WORKER["data"], seed, name, None)


def _run_in_processes(
    setup: _Setup, cells: list[Cell], bar: Any, n_jobs: int
) -> dict[Cell, list[dict[str, Any]]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: the parent may hold torch and OpenMP thread pools that do not survive fork
    ctx = multiprocessing.get_context("spawn")
    out = {}
    with ProcessPoolExecutor(
        max_workers=n_jobs, mp_context=ctx, initializer=_init_worker, initargs=(setup,)
    ) as pool:
        futures = [pool.submit(_worker_cell, cell) for cell in cells]
        for fut in as_completed(futures):
            cell, rows = fut.result()
            out[cell] = rows
            if bar is not None:
                bar.update(len(rows))
    return out


def _run_cell(
    setup: _Setup,
    data: _SeedData,
    seed: int,
    name: str,
    tick: Callable[[], Any] | None,
) -> list[dict[str, Any]]:
    """One strategy's learning curve on one seed's split."""
    rows: list[dict[str, Any]] = []
    X_pool, y_pool, init = data.X_pool, data.y_pool, data.init
    n_pool = y_pool.shape[0]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    y_part = np.full(n_pool, -1, dtype=y_pool.dtype if y_pool.dtype.kind in "iu" else object)
    y_part[init] = y_pool[init]
    state = RegionSampler(random_state=seed) if name == "region" else None
    used, cold = "random", False
    while True:
        labeled = np.flatnonzero(y_part != -1)
        y_seen = y_pool[labeled]
        fitted = None
        if np.unique(y_seen).size >= 2:
            template = (
                setup.model
                if setup.model is not None
                else make_model(setup.model_name, random_state=seed)
            )
            fitted = train(take_rows(X_pool, labeled), y_seen, model=template)
        acc, f1 = _evaluate(fitted, y_seen, data.X_test, data.y_test)
        rows.append(
            {
                "strategy": name,
                "seed": seed,
                "n_labels": int(labeled.size),
                "accuracy": acc,
                "macro_f1": f1,
                "strategy_used": used,
                "cold_start": cold,
            }
        )
        if tick is not None:
            tick()
        k = min(setup.batch, setup.budget - labeled.size, n_pool - labeled.size)
        if k <= 0:
            return rows
        sel = select(
            name,
            fitted,
            X_pool,
            k,
            y=y_part,
            classes=setup.classes,
            state=state,
            random_state=rng,
            **setup.options.get(name, {}),
        )
        used, cold = sel.info["strategy_used"], bool(sel.info["cold_start"])
        y_part[sel.indices] = y_pool[sel.indices]


def reference_accuracy(
    X: Any,
    y: ArrayLike,
    *,
    seeds: int | Sequence[int] = 5,
    test_size: float = 0.25,
    model_name: str = "logreg",
    model: BaseEstimator | None = None,
) -> dict[int, float]:
    """Held-out accuracy of a model trained on the whole pool, per seed.

    The ceiling the learning curves aim at (same splits as :func:`simulate`).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(80, centers=[[0, 0], [8, 8]], random_state=0)
    >>> reference_accuracy(X, y, seeds=[0])
    {0: 1.0}
    """
    y_all = np.asarray(y)
    X = rowwise(X)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    out = {}
    for seed in seed_list:
        pool, test = _split(X, y_all, test_size, seed)
        template = model if model is not None else make_model(model_name, random_state=seed)
        fitted = train(take_rows(X, pool), y_all[pool], model=template)
        out[seed] = float(accuracy_score(y_all[test], fitted.predict(take_rows(X, test))))
    return out
