"""Learning curves from simulation rows: summaries, the CSV file and the plot.

Split from :mod:`labeler.learning.simulate` (which re-exports these names) so
the loop and what is done with its rows stay apart.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CSV_COLUMNS", "summarize", "labels_to_reach", "write_csv", "read_csv", "plot_curves"]

CSV_COLUMNS = ("strategy", "seed", "n_labels", "accuracy", "macro_f1")


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
