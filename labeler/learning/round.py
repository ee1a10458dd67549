"""One active-learning round as a pure function: labels in, model and ranking out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from labeler.learning.training import cross_validated_scores, supports_weights, train
from labeler.sampling._base import rowwise, take_rows
from labeler.sampling.region import RegionSampler
from labeler.sampling.registry import rank

__all__ = ["RoundResult", "run_round"]


@dataclass
class RoundResult:
    """What a round produced.

    Attributes
    ----------
    indices : ndarray of int64
        The batch to label next, best first.
    order : ndarray of int64
        The whole pool, highest priority first (labeled rows last).
    scores : ndarray of float64
        Priority per row, higher first; the batch is on top, labeled rows are
        ``-inf``.
    metrics : dict
        ``n_labels``, ``n_classes_labeled``, ``accuracy`` and ``macro_f1``
        (cross-validated on the labeled set, None with ``cv_reason`` when too
        few labels), ``duration_s``, ``strategy``, ``strategy_used``,
        ``cold_start``, ``reason``; ``n_weak_labels``, ``n_train`` and
        ``weighted`` (whether the model took the weights) say what it trained on.
    model : estimator or None
        The model trained on the labels (None before two classes are labeled).
    info : dict
        The strategy's own details (regions, clusters...). For ``"region"``,
        ``info["state"]`` is the :class:`~labeler.sampling.RegionSampler` to
        keep (pickle) and pass back as ``state`` next round.
    """

    indices: NDArray[np.int64]
    order: NDArray[np.int64]
    scores: NDArray[np.float64]
    metrics: dict[str, Any]
    model: BaseEstimator | None
    info: dict[str, Any] = field(default_factory=dict)


def run_round(
    X: Any,
    y_partial: ArrayLike,
    n: int,
    strategy: str = "margin",
    *,
    random_state: Any = None,
    model_name: str = "logreg",
    model: BaseEstimator | None = None,
    classes: Sequence[Any] | None = None,
    cv: int | None = 5,
    state: RegionSampler | None = None,
    ids: Any = None,
    train_y: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    **options: Any,
) -> RoundResult:
    """Train on the labels so far, score them by cross-validation, rank the pool.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Features of every item of the project.
    y_partial : array-like of shape (n_samples,)
        Current consensus label per item, ``-1`` for unlabeled.
    n : int
        Batch size to place on top of the ranking.
    strategy : str
        A key of :data:`labeler.sampling.STRATEGIES`.
    random_state : int or None
    model_name : str
        For :func:`~labeler.learning.training.make_model`, unless ``model``
        (an unfitted template) is given.
    classes : sequence, optional
        All the project's classes (detects the cold start).
    cv : int or None
        Folds for the cross-validated metrics; None skips them.
    state : RegionSampler, optional
        The region sampler kept between rounds.
    ids : array-like, optional
        Stable item ids (for the region sampler).
    train_y : array-like of shape (n_samples,), optional
        What the model trains on when it is more than ``y_partial``: human labels
        plus weak ones (:func:`~labeler.learning.training.with_weak_labels`),
        ``-1`` for none. The cross-validated metrics stay on the human labels
        (``y_partial``) so they compare with human-level performance, and the
        ranking still treats only human-labeled rows as labeled.
    sample_weight : array-like of shape (n_samples,), optional
        Per-row weights for ``train_y`` (1 human, the confidence for a weak
        label). An estimator without ``sample_weight`` is fitted unweighted;
        ``metrics["weighted"]`` says so.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [3.0], [3.1], [3.2], [1.5], [1.4]])
    >>> y = np.array([0, 0, -1, 1, 1, -1, -1, -1])
    >>> r = run_round(X, y, 2, "margin", random_state=0, cv=2)
    >>> r.metrics["n_labels"], r.metrics["strategy_used"], r.metrics["accuracy"]
    (4, 'margin', 1.0)
    >>> sorted(r.indices.tolist())
    [6, 7]
    >>> run_round(X, np.full(8, -1), 2, "margin", random_state=0).metrics["cold_start"]
    True
    >>> weak = np.array([0, 0, 0, 1, 1, 1, -1, -1])
    >>> w = np.array([1, 1, 0.95, 1, 1, 0.9, 0, 0])
    >>> m = run_round(X, y, 2, "margin", random_state=0, cv=2, train_y=weak, sample_weight=w).metrics
    >>> m["n_labels"], m["n_weak_labels"], m["n_train"], m["weighted"]
    (4, 2, 6, True)
    """
    start = time.perf_counter()
    y_arr = np.asarray(y_partial)
    labeled = np.flatnonzero(y_arr != -1)
    y_lab = y_arr[labeled]
    X = rowwise(X)
    classes_seen = np.unique(y_lab)
    fitted = None
    cv_scores: dict[str, Any] = {"accuracy": None, "macro_f1": None, "reason": "not computed"}
    t_arr = y_arr if train_y is None else np.asarray(train_y)
    rows = np.flatnonzero(t_arr != -1)
    n_weak = int(((t_arr != -1) & (y_arr == -1)).sum())
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[rows]
    weighted = False
    if np.unique(t_arr[rows]).size >= 2:
        fitted = train(
            take_rows(X, rows),
            t_arr[rows],
            model=model,
            model_name=model_name,
            random_state=random_state,
            sample_weight=weights,
        )
        weighted = weights is not None and supports_weights(fitted)
    if classes_seen.size >= 2:
        if cv and fitted is not None:
            cv_scores = cross_validated_scores(fitted, take_rows(X, labeled), y_lab, cv)
    else:
        cv_scores["reason"] = "fewer than 2 classes labeled"
    if strategy == "region" and state is None:
        seed = random_state if isinstance(random_state, int) else None
        state = RegionSampler(random_state=seed)
    ranking = rank(
        strategy,
        fitted,
        X,
        n,
        y=y_arr,
        classes=classes,
        ids=ids,
        state=state,
        random_state=random_state,
        **options,
    )
    metrics = {
        "n_labels": int(labeled.size),
        "n_classes_labeled": int(classes_seen.size),
        "n_weak_labels": n_weak,
        "n_train": int(rows.size),
        "weighted": weighted,
        "accuracy": cv_scores["accuracy"],
        "macro_f1": cv_scores["macro_f1"],
        "cv_reason": cv_scores.get("reason"),
        "duration_s": round(time.perf_counter() - start, 4),
        "strategy": strategy,
        "strategy_used": ranking.info.get("strategy_used"),
        "cold_start": ranking.info.get("cold_start"),
        "reason": ranking.info.get("reason"),
        "batch_size": int(ranking.indices.size),
    }
    info = dict(ranking.info)
    if state is not None:
        info["state"] = state
    return RoundResult(ranking.indices, ranking.order, ranking.scores, metrics, fitted, info)
