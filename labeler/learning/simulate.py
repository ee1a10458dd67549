"""Offline active-learning simulation: the true labels play the oracle.

For each seed: a stratified held-out split (``test_size``), a small random
seed set from the pool, then rounds of ``train -> score on the held-out split
-> select a batch -> reveal its labels`` until ``budget`` labels. Every
strategy sees the same splits and seed sets, so curves are paired by seed.
``labeler simulate`` writes :func:`simulate`'s rows with :func:`write_csv` and
the plot with :func:`plot_curves`.
"""

from __future__ import annotations

import csv
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

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

CSV_COLUMNS = ("strategy", "seed", "n_labels", "accuracy", "macro_f1")


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
) -> list[dict[str, Any]]:
    """Run the active-learning loop offline for every strategy and seed.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
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

    Returns
    -------
    list of dict
        One row per strategy, seed and round: ``strategy, seed, n_labels,
        accuracy, macro_f1`` plus ``strategy_used`` and ``cold_start``.

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
    y_all = np.asarray(y)
    X = rowwise(X)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    n_initial = batch if n_initial is None else n_initial
    classes = np.unique(y_all).tolist()
    options = strategy_options or {}
    rounds_per_run = 1 + max(0, -(-(budget - n_initial) // batch))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(seed_list) * len(strategies) * rounds_per_run, unit="round")
    rows: list[dict[str, Any]] = []
    try:
        with few_threads(y_all.shape[0]):
            _run(
                X,
                y_all,
                strategies,
                seed_list,
                rows,
                bar,
                budget=budget,
                batch=batch,
                n_initial=n_initial,
                test_size=test_size,
                classes=classes,
                model=model,
                model_name=model_name,
                options=options,
            )
    finally:
        if bar is not None:
            bar.close()
    return rows


def _run(
    X: Any,
    y_all: np.ndarray,
    strategies: Sequence[str],
    seed_list: list[int],
    rows: list[dict[str, Any]],
    bar: Any,
    *,
    budget: int,
    batch: int,
    n_initial: int,
    test_size: float,
    classes: list[Any],
    model: BaseEstimator | None,
    model_name: str,
    options: dict[str, dict[str, Any]],
) -> None:
    for seed in seed_list:
        pool, test = _split(X, y_all, test_size, seed)
        X_pool, y_pool = take_rows(X, pool), y_all[pool]
        X_test, y_test = take_rows(X, test), y_all[test]
        init = np.random.default_rng(seed).choice(
            pool.size, size=min(n_initial, pool.size), replace=False
        )
        for name in strategies:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            y_part = np.full(
                pool.size, -1, dtype=y_pool.dtype if y_pool.dtype.kind in "iu" else object
            )
            y_part[init] = y_pool[init]
            state = RegionSampler(random_state=seed) if name == "region" else None
            used, cold = "random", False
            while True:
                labeled = np.flatnonzero(y_part != -1)
                y_seen = y_pool[labeled]
                fitted = None
                if np.unique(y_seen).size >= 2:
                    template = (
                        model if model is not None else make_model(model_name, random_state=seed)
                    )
                    fitted = train(take_rows(X_pool, labeled), y_seen, model=template)
                acc, f1 = _evaluate(fitted, y_seen, X_test, y_test)
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
                if bar is not None:
                    bar.update(1)
                k = min(batch, budget - labeled.size, pool.size - labeled.size)
                if k <= 0:
                    break
                sel = select(
                    name,
                    fitted,
                    X_pool,
                    k,
                    y=y_part,
                    classes=classes,
                    state=state,
                    random_state=rng,
                    **options.get(name, {}),
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


def summarize(
    rows: Iterable[dict[str, Any]], metric: str = "accuracy"
) -> dict[str, dict[int, dict[str, float]]]:
    """Per strategy and label count: mean, std, min, max of ``metric`` over seeds.

    Examples
    --------
    >>> rows = [{"strategy": "m", "n_labels": 10, "accuracy": a} for a in (0.5, 0.7)]
    >>> summarize(rows)["m"][10]["mean"]
    0.6
    """
    groups: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[r["strategy"]][int(r["n_labels"])].append(float(r[metric]))
    out: dict[str, dict[int, dict[str, float]]] = {}
    for name, by_n in groups.items():
        out[name] = {}
        for n, vals in sorted(by_n.items()):
            a = np.asarray(vals)
            out[name][n] = {
                "mean": round(float(a.mean()), 10),
                "std": float(a.std()),
                "min": float(a.min()),
                "max": float(a.max()),
                "count": float(a.size),
            }
    return out


def labels_to_reach(
    rows: Iterable[dict[str, Any]], strategy: str, target: float, metric: str = "accuracy"
) -> int | None:
    """Fewest labels at which the seed-averaged ``metric`` reaches ``target``.

    None when the curve never gets there.

    Examples
    --------
    >>> rows = [{"strategy": "m", "n_labels": n, "accuracy": a} for n, a in [(10, .5), (20, .9)]]
    >>> labels_to_reach(rows, "m", 0.8), labels_to_reach(rows, "m", 0.95)
    (20, None)
    """
    curve = summarize(rows, metric).get(strategy, {})
    for n, stats in sorted(curve.items()):
        if stats["mean"] >= target:
            return n
    return None


def write_csv(rows: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write the curve rows with columns ``strategy,seed,n_labels,accuracy,macro_f1``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow(
                [
                    r["strategy"],
                    r["seed"],
                    r["n_labels"],
                    f"{r['accuracy']:.6f}",
                    f"{r['macro_f1']:.6f}",
                ]
            )
    return path


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read rows written by :func:`write_csv`."""
    with Path(path).open(newline="") as fh:
        return [
            {
                "strategy": r["strategy"],
                "seed": int(r["seed"]),
                "n_labels": int(r["n_labels"]),
                "accuracy": float(r["accuracy"]),
                "macro_f1": float(r["macro_f1"]),
            }
            for r in csv.DictReader(fh)
        ]


def plot_curves(
    rows: Iterable[dict[str, Any]],
    path: str | Path,
    *,
    title: str | None = None,
    reference: float | None = None,
) -> Path:
    """Plot accuracy and macro-F1 against labels: mean line and min-max band over seeds.

    ``reference`` draws a dashed line (e.g. the whole-pool accuracy).
    Uses matplotlib's Agg backend; writes a PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for ax, metric, label in zip(
        axes, ("accuracy", "macro_f1"), ("accuracy", "macro-F1"), strict=True
    ):
        for name, curve in summarize(rows, metric).items():
            ns = np.array(sorted(curve))
            mean = np.array([curve[n]["mean"] for n in ns])
            lo = np.array([curve[n]["min"] for n in ns])
            hi = np.array([curve[n]["max"] for n in ns])
            (line,) = ax.plot(ns, mean, label=name, linewidth=1.8)
            ax.fill_between(ns, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
        if reference is not None and metric == "accuracy":
            ax.axhline(reference, color="black", linestyle="--", linewidth=1, label="whole pool")
        ax.set_xlabel("labels")
        ax.set_ylabel(f"held-out {label}")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=9)
    n_seeds = len({r["seed"] for r in rows})
    fig.suptitle(title or f"Learning curves (mean, band = min-max over {n_seeds} seeds)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
