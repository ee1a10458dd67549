"""Models, training, cross-validated metrics and consensus labels.

Pure functions: arrays in, fitted estimators and numbers out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from labeler.quality.consensus import SKIP_LABELS, consensus_labels
from labeler.sampling._base import few_threads
from labeler.sampling.fitting import fit_estimator

__all__ = [
    "MODELS",
    "SKIP_LABELS",
    "make_model",
    "supports_weights",
    "train",
    "with_weak_labels",
    "cross_validated_scores",
    "consensus_labels",
]


def _logreg(random_state: Any, **params: Any) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 1000, "random_state": random_state, **params})


def _sgd(random_state: Any, **params: Any) -> BaseEstimator:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(**{"loss": "log_loss", "random_state": random_state, **params})


def _forest(random_state: Any, **params: Any) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        **{"n_estimators": 100, "n_jobs": 1, "random_state": random_state, **params}
    )


def _nb(random_state: Any, **params: Any) -> BaseEstimator:
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(**params)


def _svm(random_state: Any, **params: Any) -> BaseEstimator:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return CalibratedClassifierCV(LinearSVC(random_state=random_state, **params), cv=3)


MODELS = {
    "logreg": _logreg,
    "sgd": _sgd,
    "random_forest": _forest,
    "naive_bayes": _nb,
    "linear_svm": _svm,
}


def make_model(name: str = "logreg", *, random_state: Any = None, **params: Any) -> BaseEstimator:
    """A fresh probabilistic classifier by name.

    Parameters
    ----------
    name : {"logreg", "sgd", "random_forest", "naive_bayes", "linear_svm"}
        ``logreg`` is ``LogisticRegression(max_iter=1000)``; ``sgd`` is a
        log-loss ``SGDClassifier`` (large sparse data); ``naive_bayes`` is
        ``ComplementNB`` (non-negative features such as TF-IDF);
        ``linear_svm`` is a calibrated ``LinearSVC``.
    random_state : int or None
    **params
        Hyperparameters passed to the estimator.

    Examples
    --------
    >>> make_model("logreg", random_state=0, C=0.5)
    LogisticRegression(C=0.5, max_iter=1000, random_state=0)
    """
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None
    return factory(random_state, **params)


def supports_weights(model: BaseEstimator) -> bool:
    """Whether ``model.fit`` takes ``sample_weight`` (scikit-learn's own test).

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> supports_weights(make_model("logreg")), supports_weights(KNeighborsClassifier())
    (True, False)
    """
    from sklearn.utils.validation import has_fit_parameter

    return bool(has_fit_parameter(model, "sample_weight"))


def with_weak_labels(
    y_human: ArrayLike, weak_y: ArrayLike, weak_confidence: ArrayLike, min_confidence: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Human labels plus confident weak labels where no human label is, with weights.

    Parameters
    ----------
    y_human : array-like of int, shape (n,)
        Human consensus label per item, ``-1`` for none.
    weak_y : array-like of int, shape (n,)
        A weak label (label model or propagation) per item, ``-1`` for none.
    weak_confidence : array-like of float, shape (n,)
        The weak label's confidence in [0, 1].
    min_confidence : float
        Weak labels below this are left out.

    Returns
    -------
    y : ndarray of int64, shape (n,)
        The training label per item, ``-1`` where there is none.
    weight : ndarray of float64, shape (n,)
        1 for a human label, the confidence for a weak one, 0 for none.
    n_weak : int
        How many weak labels were taken.

    Examples
    --------
    >>> y, w, n = with_weak_labels([0, -1, -1, -1], [1, 1, 0, -1], [0.99, 0.95, 0.5, 0.0], 0.9)
    >>> y.tolist(), w.tolist(), n
    ([0, 1, -1, -1], [1.0, 0.95, 0.0, 0.0], 1)
    """
    y = np.asarray(y_human, dtype=np.int64).copy()
    weak = np.asarray(weak_y, dtype=np.int64)
    conf = np.asarray(weak_confidence, dtype=np.float64)
    weight = (y != -1).astype(np.float64)
    take = (y == -1) & (weak != -1) & (conf >= min_confidence)
    y[take] = weak[take]
    weight[take] = conf[take]
    return y, weight, int(take.sum())


def train(
    X: Any,
    y: ArrayLike,
    *,
    model: BaseEstimator | None = None,
    model_name: str = "logreg",
    random_state: Any = None,
    sample_weight: ArrayLike | None = None,
) -> BaseEstimator:
    """Fit a clone of ``model`` (or ``make_model(model_name)``) on ``(X, y)``.

    ``sample_weight`` is passed on when the estimator takes it; one that does not
    is fitted unweighted (check :func:`supports_weights` to know which happened).

    Examples
    --------
    >>> clf = train(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1], random_state=0)
    >>> clf.predict(np.array([[-1.0], [4.0]])).tolist()
    [0, 1]
    """
    y_arr = np.asarray(y)
    if np.unique(y_arr).size < 2:
        raise ValueError("training needs at least two classes among the labels")
    est = clone(model) if model is not None else make_model(model_name, random_state=random_state)
    if sample_weight is not None and not supports_weights(est):
        sample_weight = None
    with few_threads(y_arr.shape[0]):
        return fit_estimator(est, X, y_arr, sample_weight)


def cross_validated_scores(
    model: BaseEstimator, X: Any, y: ArrayLike, cv: int = 5, *, random_state: Any = 0
) -> dict[str, Any]:
    """Stratified k-fold accuracy and macro-F1 of ``model`` on the labeled set.

    Uses ``min(cv, smallest class count)`` folds. Returns ``accuracy`` and
    ``macro_f1`` as None, with a ``reason``, when there are fewer than two
    classes or fewer than two labels in some class.

    Returns
    -------
    dict
        ``{"accuracy", "macro_f1", "n_splits", "reason"}``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [0.2], [0.4], [2.0], [2.2], [2.4]])
    >>> cross_validated_scores(LogisticRegression(), X, [0, 0, 0, 1, 1, 1], cv=3)
    {'accuracy': 1.0, 'macro_f1': 1.0, 'n_splits': 3, 'reason': None}
    >>> cross_validated_scores(LogisticRegression(), X[:4], [0, 0, 0, 1])["reason"]
    'fewer than 2 labels for class 1'
    """
    y_arr = np.asarray(y)
    classes, counts = np.unique(y_arr, return_counts=True)
    out: dict[str, Any] = {"accuracy": None, "macro_f1": None, "n_splits": 0, "reason": None}
    if classes.size < 2:
        out["reason"] = "fewer than 2 classes labeled"
        return out
    if counts.min() < 2:
        rare = ", ".join(str(c) for c in classes[counts < 2][:10])
        out["reason"] = f"fewer than 2 labels for class {rare}"
        return out
    n_splits = int(min(cv, counts.min()))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with few_threads(y_arr.shape[0]):
        pred = cross_val_predict(clone(model), X, y_arr, cv=folds)
    out["accuracy"] = float(accuracy_score(y_arr, pred))
    out["macro_f1"] = float(f1_score(y_arr, pred, average="macro"))
    out["n_splits"] = n_splits
    return out
