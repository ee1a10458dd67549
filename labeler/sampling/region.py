"""Region-based sampling: several strategies, each where it works best.

The pool is partitioned into regions with k-means. Each round a
:class:`RegionSampler`

1. credits last round's picks that have since been labeled: a pick the model
   had *wrong* before it was labeled is a label that corrected the model
   there, so ``1 - [prediction == label]`` is both the region's observed
   error and the reward of the strategy that made the pick;
2. estimates each region's error, shrinking the observed error rate towards
   the model's own expected error (mean least-confidence of the region's
   unlabeled rows) with ``prior_strength`` pseudo-labels;
3. allocates the batch across regions in proportion to ``unlabeled x error``
   with a ``floor`` per region, summing to exactly the batch size
   (:func:`~labeler.sampling._base.allocate_batch`);
4. in each region runs the base strategy chosen by a UCB bandit over
   ``strategies`` (margin, entropy, committee, cluster): untried strategies
   first, then the best recency-weighted mean reward plus an exploration
   bonus. Rewards decay by ``decay`` per round, so "recently" wins.

The sampler's state is plain numpy arrays, dicts and a fitted
``MiniBatchKMeans``: it pickles, so a worker can store it between rounds.
Rows are matched across rounds by ``ids`` (stable item ids; default: row
positions, which is right when the pool keeps its order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labeler.sampling._base import (
    DEFAULT_CHUNK_SIZE,
    Query,
    RandomState,
    allocate_batch,
    check_random_state,
    n_rows,
    proba_chunks,
    rowwise,
    take_rows,
    unlabeled_mask,
)
from labeler.sampling.cluster import assign, diverse_top_n, fit_partition, pick_per_group
from labeler.sampling.committee import Committee
from labeler.sampling.measures import entropy_scores, least_confidence, margin_scores

__all__ = ["RegionSampler", "region_sampling", "region_query", "allocate_batch", "BASE_STRATEGIES"]

BASE_STRATEGIES: tuple[str, ...] = ("margin", "entropy", "committee", "cluster")


class RegionSampler:
    """Stateful region-based sampler with a per-region bandit over strategies.

    Parameters
    ----------
    n_regions : int, default=8
        Number of k-means regions.
    strategies : sequence of str, default=("margin", "entropy", "committee", "cluster")
        The base strategies the bandit chooses from in each region.
    floor : int, default=1
        Minimum picks per region that still has unlabeled rows.
    exploration : float, default=0.3
        UCB exploration weight ``c`` in ``mean + c * sqrt(log(N) / n)``.
    decay : float, default=0.8
        Per-round discount of past rewards and error counts.
    prior_strength : float, default=4.0
        Pseudo-labels of the model's expected error when estimating a
        region's error from its observed labels.
    n_members : int, default=5
        Committee size for the ``committee`` strategy.
    diversity : float, default=5.0
        Batch-awareness of the margin, entropy and committee strategies
        (see :func:`~labeler.sampling.cluster.diverse_top_n`).
    max_fit_rows : int, default=50_000
        Fit k-means on at most this many sampled rows.
    random_state : int or None
        Seeds the partition, the bandit's tie-breaks and the committee; with an
        int each round draws from ``(random_state, round)`` so a pickled and
        restored sampler continues exactly as the original would.

    Attributes
    ----------
    partition_ : MiniBatchKMeans
    n_features_in_ : int
    reward_sum_, reward_count_ : ndarray of shape (n_regions, n_strategies)
        Recency-weighted reward totals and counts per region and strategy.
    error_sum_, error_count_ : ndarray of shape (n_regions,)
        Recency-weighted observed errors on fresh labels per region.
    pending_ : dict
        Picks awaiting labels: ``id -> (region, strategy index, predicted class)``.
    rounds_ : int
    history_ : list of dict
        Per round: allocation and strategy per region.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y_true = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> y = np.full(200, -1)
    >>> y[:20] = y_true[:20]
    >>> model = LogisticRegression().fit(X[:20], y[:20])
    >>> sampler = RegionSampler(n_regions=4, random_state=0)
    >>> q = sampler.query(model, X, 10, y=y)
    >>> len(set(q.indices.tolist())), sum(r["allocation"] for r in q.info["regions"])
    (10, 10)
    >>> all(r["allocation"] >= 1 for r in q.info["regions"])
    True
    """

    def __init__(
        self,
        n_regions: int = 8,
        strategies: Sequence[str] = BASE_STRATEGIES,
        *,
        floor: int = 1,
        exploration: float = 0.3,
        decay: float = 0.8,
        prior_strength: float = 4.0,
        n_members: int = 5,
        diversity: float = 5.0,
        max_fit_rows: int = 50_000,
        random_state: int | None = None,
    ) -> None:
        self.n_regions = n_regions
        self.strategies = strategies
        self.floor = floor
        self.exploration = exploration
        self.decay = decay
        self.prior_strength = prior_strength
        self.n_members = n_members
        self.diversity = diversity
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    # -- state -------------------------------------------------------------
    def _rng(self, salt: int = 0) -> np.random.Generator:
        rounds = getattr(self, "rounds_", 0)
        if self.random_state is None:
            return np.random.default_rng()
        return np.random.default_rng([int(self.random_state), rounds, salt])

    def fit(self, X: Any) -> RegionSampler:
        """Partition the pool into regions and reset the bandit."""
        for name in self.strategies:
            if name not in BASE_STRATEGIES:
                raise ValueError(f"unknown base strategy {name!r}; expected {BASE_STRATEGIES}")
        X = rowwise(X)
        k = max(1, min(self.n_regions, n_rows(X)))
        self.partition_ = fit_partition(
            X, k, max_fit_rows=self.max_fit_rows, random_state=self._rng(1)
        )
        self.n_features_in_ = int(X.shape[1])
        r, s = self.partition_.n_clusters, len(self.strategies)
        self.reward_sum_ = np.zeros((r, s))
        self.reward_count_ = np.zeros((r, s))
        self.pulls_ = np.zeros((r, s), dtype=np.int64)
        self.error_sum_ = np.zeros(r)
        self.error_count_ = np.zeros(r)
        self.pending_: dict[Any, tuple[int, int, Any]] = {}
        self.rounds_ = 0
        self.history_: list[dict[str, Any]] = []
        return self

    def regions(self, X: Any, chunk_size: int = DEFAULT_CHUNK_SIZE) -> NDArray[np.int64]:
        """Region of every row of ``X``."""
        return assign(self.partition_, X, chunk_size)[0]

    def _credit(self, y: NDArray[Any] | None, ids: NDArray[Any]) -> int:
        """Reward last rounds' picks that now have a label; returns how many."""
        self.reward_sum_ *= self.decay
        self.reward_count_ *= self.decay
        self.error_sum_ *= self.decay
        self.error_count_ *= self.decay
        if y is None or not self.pending_:
            return 0
        keys = list(self.pending_)
        # only the pending keys are looked up: no dict over a million ids
        found = np.flatnonzero(np.isin(ids, np.asarray(keys, dtype=ids.dtype)))
        position = dict(zip(ids[found].tolist(), found.tolist(), strict=True))
        credited = 0
        for key in keys:
            i = position.get(key)
            if i is None:  # the item left the pool
                del self.pending_[key]
                continue
            if y[i] == -1:
                continue
            region, arm, predicted = self.pending_.pop(key)
            wrong = float(predicted != y[i])
            self.reward_sum_[region, arm] += wrong
            self.reward_count_[region, arm] += 1.0
            self.error_sum_[region] += wrong
            self.error_count_[region] += 1.0
            credited += 1
        return credited

    def _choose(self, region: int, available: list[int], rng: np.random.Generator) -> int:
        untried = [a for a in available if self.pulls_[region, a] == 0]
        if untried:
            return int(rng.choice(untried))
        counts = self.reward_count_[region, available]
        means = self.reward_sum_[region, available] / np.maximum(counts, 1e-9)
        total = max(counts.sum(), 1.0)
        bonus = self.exploration * np.sqrt(np.log(total + 1.0) / np.maximum(counts, 1e-3))
        ucb = means + bonus
        best = np.flatnonzero(ucb >= ucb.max() - 1e-12)
        return int(available[int(rng.choice(best))])

    # -- the round ---------------------------------------------------------
    def query(
        self,
        model_or_probas: Any,
        X: Any,
        n: int,
        *,
        y: Any = None,
        ids: Any = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Query:
        """Pick ``n`` rows: allocate across regions, run each region's strategy.

        Parameters
        ----------
        model_or_probas : fitted classifier or ndarray of shape (n_samples, n_classes)
            With probabilities only, the committee strategy is unavailable.
        X : array-like or sparse matrix of shape (n_samples, n_features)
        n : int
        y : array-like of shape (n_samples,), optional
            Labels so far, ``-1`` = unlabeled. Needed to credit last round's
            picks and for the committee.
        ids : array-like of shape (n_samples,), optional
            Stable item ids; defaults to row positions.

        Returns
        -------
        Query
            ``info["regions"]`` lists, per region, its size, unlabeled count,
            error estimate, allocation, the strategy it used and its bandit
            statistics.
        """
        X = rowwise(X)
        n_pool = n_rows(X)
        if not hasattr(self, "partition_") or self.n_features_in_ != X.shape[1]:
            self.fit(X)
        rng = self._rng()
        y_arr = None if y is None else np.asarray(y)
        mask = unlabeled_mask(y_arr, n_pool)
        ids_arr = np.arange(n_pool) if ids is None else np.asarray(ids)
        credited = self._credit(y_arr, ids_arr)

        regions = self.regions(X, chunk_size)
        n_reg = self.partition_.n_clusters
        classes = getattr(model_or_probas, "classes_", None)
        margin = np.empty(n_pool)
        entropy = np.empty(n_pool)
        expected_error = np.empty(n_pool)
        predicted = np.empty(n_pool, dtype=np.int64)
        for sl, proba in proba_chunks(model_or_probas, X, chunk_size):
            margin[sl] = margin_scores(proba)
            entropy[sl] = entropy_scores(proba)
            expected_error[sl] = least_confidence(proba)
            predicted[sl] = proba.argmax(axis=1)
        pred_labels: NDArray[Any] = predicted if classes is None else np.asarray(classes)[predicted]
        if mask is not None:
            for arr in (margin, entropy, expected_error):
                arr[~mask] = -np.inf
        open_ = mask if mask is not None else np.ones(n_pool, dtype=bool)

        unlabeled = np.bincount(regions[open_], minlength=n_reg)
        unc_sum = np.bincount(regions[open_], weights=expected_error[open_], minlength=n_reg)
        unc = unc_sum / np.maximum(unlabeled, 1)
        k = self.prior_strength
        error = (self.error_sum_ + k * unc) / (self.error_count_ + k)
        alloc = allocate_batch(
            unlabeled * error, n, floor=self.floor, capacity=unlabeled, random_state=rng
        )

        available = list(range(len(self.strategies)))
        committee_scores: NDArray[np.float64] | None = None
        can_committee = (
            y_arr is not None
            and not isinstance(model_or_probas, np.ndarray)
            and np.unique(y_arr[y_arr != -1]).size >= 2
        )
        if not can_committee:
            available = [a for a in available if self.strategies[a] != "committee"]

        picks: list[NDArray[np.int64]] = []
        region_info = []
        chosen = np.full(n_reg, -1)
        for r in range(n_reg):
            rows = np.flatnonzero((regions == r) & open_)
            entry: dict[str, Any] = {
                "region": r,
                "size": int((regions == r).sum()),
                "unlabeled": int(rows.size),
                "error_estimate": round(float(error[r]), 4),
                "allocation": int(alloc[r]),
                "strategy": None,
            }
            if alloc[r] > 0:
                arm = self._choose(r, available, rng)
                name = self.strategies[arm]
                chosen[r] = arm
                if name in ("margin", "entropy", "committee"):
                    if name == "margin":
                        base = margin
                    elif name == "entropy":
                        base = entropy
                    else:
                        if committee_scores is None:
                            assert y_arr is not None
                            committee_scores = self._committee_scores(
                                model_or_probas, X, y_arr, rng, chunk_size
                            )
                        base = committee_scores
                    local = np.full(n_pool, -np.inf)
                    local[rows] = base[rows]
                    got = diverse_top_n(
                        X, local, int(alloc[r]), diversity=self.diversity, random_state=rng
                    )
                else:
                    got = self._cluster_pick(X, rows, margin, int(alloc[r]), rng, chunk_size)
                self.pulls_[r, arm] += 1
                for key, label in zip(
                    ids_arr[got].tolist(), pred_labels[got].tolist(), strict=True
                ):
                    self.pending_[key] = (r, arm, label)
                picks.append(got)
                entry["strategy"] = name
            counts = self.reward_count_[r]
            entry["mean_reward"] = {
                s: (round(float(self.reward_sum_[r, a] / counts[a]), 4) if counts[a] > 0 else None)
                for a, s in enumerate(self.strategies)
            }
            entry["pulls"] = {s: int(self.pulls_[r, a]) for a, s in enumerate(self.strategies)}
            region_info.append(entry)

        batch = np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)
        batch = batch[np.lexsort((rng.random(batch.size), -margin[batch]))].astype(np.int64)
        self.rounds_ += 1
        self.history_.append(
            {
                "round": self.rounds_,
                "credited": credited,
                "allocation": alloc.tolist(),
                "strategy": [self.strategies[a] if a >= 0 else None for a in chosen],
            }
        )
        info = {"n_regions": n_reg, "credited": credited, "regions": region_info}
        return Query(batch, margin, info)

    def _committee_scores(
        self,
        model: Any,
        X: Any,
        y: NDArray[Any],
        rng: np.random.Generator,
        chunk_size: int,
    ) -> NDArray[np.float64]:
        from sklearn.base import clone

        labeled = np.flatnonzero(y != -1)
        committee = Committee(clone(model), self.n_members, random_state=int(rng.integers(2**31)))
        committee.fit(take_rows(X, labeled), y[labeled])
        scores = committee.disagreement(X, "vote", chunk_size)
        scores[y != -1] = -np.inf
        return scores

    def _cluster_pick(
        self,
        X: Any,
        rows: NDArray[np.int64],
        uncertainty: NDArray[np.float64],
        n: int,
        rng: np.random.Generator,
        chunk_size: int,
    ) -> NDArray[np.int64]:
        """The most uncertain row of each of ``n`` k-means clusters of the region."""
        # a region's batch share is a handful of clusters: 10,000 sampled rows place them well
        fit_rows = min(self.max_fit_rows, 10_000)
        km = fit_partition(X, n, rows=rows, max_fit_rows=fit_rows, random_state=rng)
        labels, _ = assign(km, X, chunk_size, rows=rows)
        k = km.n_clusters
        sizes = np.bincount(labels, minlength=k)
        alloc = allocate_batch(sizes, n, capacity=sizes, random_state=rng)
        local = pick_per_group(labels, uncertainty[rows], alloc, rng)
        return rows[local]


def region_query(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    ids: Any = None,
    sampler: RegionSampler | None = None,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **params: Any,
) -> Query:
    """One region-based round; pass ``sampler`` to keep the bandit across rounds.

    ``params`` go to a new :class:`RegionSampler` when ``sampler`` is None.
    """
    if sampler is None:
        seed = int(check_random_state(random_state).integers(2**31 - 1))
        sampler = RegionSampler(random_state=seed, **params)
    return sampler.query(model_or_probas, X, n, y=y, ids=ids, chunk_size=chunk_size)


def region_sampling(
    model_or_probas: Any,
    X: Any,
    n: int,
    *,
    y: Any = None,
    ids: Any = None,
    sampler: RegionSampler | None = None,
    random_state: RandomState = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **params: Any,
) -> NDArray[np.int64]:
    """Region-based sampling as a function (see :class:`RegionSampler`).

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.8, 0.2], [0.55, 0.45]])
    >>> X = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> sorted(region_sampling(proba, X, 2, n_regions=2, random_state=0).tolist())
    [1, 3]
    """
    return region_query(
        model_or_probas,
        X,
        n,
        y=y,
        ids=ids,
        sampler=sampler,
        random_state=random_state,
        chunk_size=chunk_size,
        **params,
    ).indices
