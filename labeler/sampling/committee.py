"""Query by committee: a bagged committee and its disagreement-based strategy.

A :class:`Committee` fits ``n_members`` copies of an estimator (or cycles over
several estimator types) on stratified bootstrap samples of the labeled data,
so every member sees every class. :func:`committee_sampling` picks the rows
the members disagree on most, by vote entropy, consensus entropy or KL max
disagreement (see :mod:`labeler.sampling.measures`).

When every member is a plain ``LogisticRegression`` the members are scored
together: their coefficients are stacked into one matrix so each pool chunk
costs a single matrix product instead of one ``predict_proba`` per member.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from labeler.sampling._base import (
    DEFAULT_CHUNK_SIZE,
    Query,
    RandomState,
    check_random_state,
    child_seed,
    few_threads,
    is_plain_logreg,
    iter_slices,
    linear_proba,
    n_rows,
    pool_size,
    rowwise,
    take_rows,
    unlabeled_mask,
)
from labeler.sampling.cluster import diverse_top_n
from labeler.sampling.fitting import fit_estimator
from labeler.sampling.measures import consensus_entropy, kl_max_disagreement, vote_entropy

__all__ = [
    "Committee",
    "committee_sampling",
    "committee_query",
    "disagreement",
    "COMMITTEE_MEASURES",
]

COMMITTEE_MEASURES = ("vote", "consensus", "kl")


def _default_estimator() -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def stratified_bootstrap(y: NDArray[Any], rng: np.random.Generator) -> NDArray[np.int64]:
    """Resample each class with replacement to its own size.

    Plain bootstrap can drop a rare class from a member, which then cannot
    predict it; resampling per class keeps every class in every member.

    Examples
    --------
    >>> idx = stratified_bootstrap(np.array([0, 0, 0, 1]), np.random.default_rng(0))
    >>> sorted(set(np.array([0, 0, 0, 1])[idx].tolist()))
    [0, 1]
    """
    parts = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        parts.append(rng.choice(members, size=members.size, replace=True))
    return np.sort(np.concatenate(parts)).astype(np.int64)


def disagreement(stack: NDArray[Any], measure: str = "vote") -> NDArray[np.float64]:
    """Score a ``(n_members, n_samples, n_classes)`` stack by ``measure``.

    ``"vote"`` is vote entropy with its many ties (unanimous rows all score 0)
    broken by consensus entropy, scaled to stay below the smallest gap between
    two vote entropies; ``"consensus"`` and ``"kl"`` are the plain measures.

    Examples
    --------
    >>> stack = np.array([[[0.9, 0.1], [0.6, 0.4]], [[0.8, 0.2], [0.4, 0.6]]])
    >>> disagreement(stack, "vote").argmax(), disagreement(stack, "kl").argmax()
    (np.int64(1), np.int64(1))
    """
    if measure == "vote":
        n_classes = stack.shape[2]
        ce = consensus_entropy(stack)
        return vote_entropy(stack) + 1e-3 * ce / max(np.log(n_classes), 1.0)
    if measure == "consensus":
        return np.asarray(consensus_entropy(stack), dtype=np.float64)
    if measure == "kl":
        return np.asarray(kl_max_disagreement(stack), dtype=np.float64)
    raise ValueError(f"unknown committee measure {measure!r}; expected one of {COMMITTEE_MEASURES}")


class Committee(ClassifierMixin, BaseEstimator):
    """A bagged committee of classifiers.

    Parameters
    ----------
    estimator : estimator, optional
        Template for every member (default ``LogisticRegression(max_iter=1000)``).
    n_members : int, default=5
        Committee size.
    estimators : sequence of estimators, optional
        Several templates for a heterogeneous committee; member ``k`` is a
        clone of ``estimators[k % len(estimators)]``. Overrides ``estimator``.
    bootstrap : bool, default=True
        Fit each member on a stratified bootstrap sample (else on all rows,
        which only makes sense with different estimator types or seeds).
    random_state : int, Generator or None
        Seeds the bootstrap samples and the members' own ``random_state``.

    Attributes
    ----------
    estimators_ : list of fitted estimators
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> X = np.array([[-2.0], [-1.5], [-1.0], [1.0], [1.5], [2.0]])
    >>> c = Committee(n_members=3, random_state=0).fit(X, [0, 0, 0, 1, 1, 1])
    >>> len(c.estimators_), c.classes_.tolist()
    (3, [0, 1])
    >>> c.predict_proba_stack(np.array([[0.0], [3.0]])).shape
    (3, 2, 2)
    >>> c.predict(np.array([[-3.0], [3.0]])).tolist()
    [0, 1]
    """

    def __init__(
        self,
        estimator: Any = None,
        n_members: int = 5,
        *,
        estimators: Sequence[Any] | None = None,
        bootstrap: bool = True,
        random_state: RandomState = None,
    ) -> None:
        self.estimator = estimator
        self.n_members = n_members
        self.estimators = estimators
        self.bootstrap = bootstrap
        self.random_state = random_state

    def fit(self, X: Any, y: ArrayLike) -> Committee:
        """Fit every member on its own bootstrap sample of ``(X, y)``."""
        y_arr = np.asarray(y)
        if n_rows(X) != y_arr.shape[0]:
            raise ValueError(f"X has {n_rows(X)} rows but y has {y_arr.shape[0]}")
        if self.n_members < 1:
            raise ValueError("n_members must be at least 1")
        X = rowwise(X)
        rng = check_random_state(self.random_state)
        if self.estimators:
            templates = list(self.estimators)
        else:
            templates = [self.estimator if self.estimator is not None else _default_estimator()]
        with few_threads(n_rows(X)):
            members = [
                self._fit_member(templates[k % len(templates)], X, y_arr, rng)
                for k in range(self.n_members)
            ]
        self.estimators_ = members
        self.classes_ = np.unique(y_arr)
        self.n_features_in_ = int(X.shape[1])
        return self

    def _fit_member(self, template: Any, X: Any, y: NDArray[Any], rng: np.random.Generator) -> Any:
        member = clone(template)
        if "random_state" in member.get_params():
            member.set_params(random_state=child_seed(rng))
        if self.bootstrap:
            rows = stratified_bootstrap(y, rng)
            return fit_estimator(member, take_rows(X, rows), y[rows])
        return fit_estimator(member, X, y)

    def _stacked_linear(self) -> tuple[NDArray[Any], NDArray[Any]] | None:
        """One coefficient matrix for all members, when they are all plain logregs."""
        members = self.estimators_
        if not all(
            is_plain_logreg(m) and np.array_equal(m.classes_, self.classes_) for m in members
        ):
            return None
        coef = np.ascontiguousarray(np.concatenate([m.coef_.T for m in members], axis=1))
        intercept = np.concatenate([np.asarray(m.intercept_) for m in members]).astype(coef.dtype)
        return coef, intercept

    def iter_stacks(
        self, X: Any, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Iterator[tuple[slice, NDArray[Any]]]:
        """Yield ``(rows, stack)`` with ``stack`` of shape ``(n_members, rows, n_classes)``."""
        check_is_fitted(self, "estimators_")
        X = rowwise(X)
        n = n_rows(X)
        stacked = self._stacked_linear()
        if stacked is not None:
            coef, intercept = stacked
            for sl in iter_slices(n, chunk_size):
                yield sl, linear_proba(take_rows(X, sl), coef, intercept, len(self.estimators_))
            return
        n_classes = len(self.classes_)
        for sl in iter_slices(n, chunk_size):
            chunk = take_rows(X, sl)
            stack = np.zeros((len(self.estimators_), sl.stop - sl.start, n_classes))
            for k, member in enumerate(self.estimators_):
                cols = np.searchsorted(self.classes_, member.classes_)
                stack[k][:, cols] = member.predict_proba(chunk)
            yield sl, stack

    def predict_proba_stack(self, X: Any, chunk_size: int = DEFAULT_CHUNK_SIZE) -> NDArray[Any]:
        """Every member's probabilities, ``(n_members, n_samples, n_classes)``.

        Holds the whole stack in memory: for large pools use :meth:`disagreement`
        or :meth:`iter_stacks`, which work chunk by chunk.
        """
        n = n_rows(X)
        out = np.empty((len(self.estimators_), n, len(self.classes_)))
        for sl, stack in self.iter_stacks(X, chunk_size):
            out[:, sl, :] = stack
        return out

    def predict_proba(self, X: Any) -> NDArray[Any]:
        """Consensus (mean) probabilities, ``(n_samples, n_classes)``."""
        out = np.empty((n_rows(X), len(self.classes_)))
        for sl, stack in self.iter_stacks(X):
            out[sl] = stack.mean(axis=0)
        return out

    def predict(self, X: Any) -> NDArray[Any]:
        """The consensus class of each row."""
        return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])

    def disagreement(
        self, X: Any, measure: str = "vote", chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> NDArray[np.float64]:
        """Disagreement of the members on every row of ``X``, chunk by chunk."""
        scores = np.empty(n_rows(X), dtype=np.float64)
        for sl, stack in self.iter_stacks(X, chunk_size):
            scores[sl] = disagreement(stack, measure)
        return scores


def _labeled_rows(X: Any, y: Any) -> tuple[Any, NDArray[Any]]:
    y_arr = np.asarray(y)
    rows = np.flatnonzero(y_arr != -1)
    return take_rows(rowwise(X), rows), y_arr[rows]


def committee_query(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    measure: str = "vote",
    n_members: int = 5,
    X_labeled: Any = None,
    y_labeled: ArrayLike | None = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Query:
    """Rows the committee disagrees on most, with scores for the whole pool.

    ``model_or_probas`` is one of: a fitted :class:`Committee`; a
    ``(n_members, n_samples, n_classes)`` probability stack; an estimator (or a
    list of estimators, for a heterogeneous committee) used as the template of
    a new committee fitted on the labeled rows of ``X`` (``y != -1``) or on
    ``X_labeled, y_labeled``. The batch is batch-aware like the uncertainty
    strategies (see :func:`~labeler.sampling.cluster.diverse_top_n`).
    """
    rng = check_random_state(random_state)
    n_pool = pool_size(model_or_probas, X)
    mask = unlabeled_mask(y, n_pool)
    if isinstance(model_or_probas, np.ndarray):
        scores = disagreement(model_or_probas, measure)
        members = model_or_probas.shape[0]
    else:
        committee = model_or_probas
        if not (isinstance(committee, Committee) and hasattr(committee, "estimators_")):
            if X_labeled is None and y is not None:
                X_labeled, y_labeled = _labeled_rows(X, y)
            if X_labeled is None or y_labeled is None:
                raise ValueError(
                    "committee sampling needs a fitted Committee, a probability stack, "
                    "or labeled data (y with -1 for unlabeled, or X_labeled/y_labeled)"
                )
            template = (
                {"estimators": list(model_or_probas)}
                if isinstance(model_or_probas, list | tuple)
                else {"estimator": model_or_probas if model_or_probas is not None else None}
            )
            committee = Committee(n_members=n_members, random_state=child_seed(rng), **template)
            committee.fit(X_labeled, y_labeled)
        scores = committee.disagreement(X, measure, chunk_size)
        members = len(committee.estimators_)
    if mask is not None:
        scores[~mask] = -np.inf
    picked = diverse_top_n(X, scores, n, diversity=diversity, random_state=rng)
    info = {"measure": measure, "n_members": members, "diversity": diversity}
    return Query(picked, scores, info)


def committee_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    measure: str = "vote",
    n_members: int = 5,
    X_labeled: Any = None,
    y_labeled: ArrayLike | None = None,
    random_state: RandomState = None,
    diversity: float = 5.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NDArray[np.int64]:
    """Query by committee: the ``n`` rows with the most member disagreement.

    See :func:`committee_query` for what ``model_or_probas`` may be.

    Examples
    --------
    On a probability stack (2 members, 3 rows), the row the members split on
    comes first:

    >>> stack = np.array([[[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]],
    ...                   [[0.9, 0.1], [0.3, 0.7], [0.7, 0.3]]])
    >>> committee_sampling(stack, None, 1, measure="kl").tolist()
    [1]

    With a model template and partial labels (-1 = unlabeled):

    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [0.05], [1.0], [2.0], [5.0]])
    >>> y = np.array([0, 0, -1, 1, 1, -1])
    >>> committee_sampling(LogisticRegression(), X, 1, y=y, random_state=0).tolist()
    [2]
    """
    return committee_query(
        model_or_probas,
        X,
        n,
        y=y,
        measure=measure,
        n_members=n_members,
        X_labeled=X_labeled,
        y_labeled=y_labeled,
        random_state=random_state,
        diversity=diversity,
        chunk_size=chunk_size,
    ).indices
