"""Region allocation and bandit, cold start, the registry and the pool ranking."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labeler.sampling import STRATEGIES, RegionSampler, allocate_batch, rank, select
from labeler.sampling.registry import cold_start_reason


@pytest.mark.parametrize(
    ("weights", "n", "floor"),
    [
        ([5.0, 1.0, 0.1, 0.0], 10, 1),
        ([1.0, 1.0, 1.0], 7, 2),
        ([0.3, 0.2, 0.5, 0.0, 0.0, 0.9], 20, 1),
        ([1e-9, 1.0], 3, 1),
        ([2.0, 2.0, 2.0, 2.0], 2, 1),  # n smaller than the floor total
    ],
)
def test_allocation_sums_to_batch_and_respects_floor(weights, n, floor):
    alloc = allocate_batch(weights, n, floor=floor, random_state=0)
    assert alloc.sum() == n
    assert (alloc >= 0).all()
    if floor * len(weights) <= n:
        assert (alloc >= floor).all()  # no region starves, zero weight included


def test_allocation_is_proportional_above_the_floor():
    alloc = allocate_batch([8.0, 2.0], 20, floor=0)
    assert alloc.tolist() == [16, 4]
    alloc = allocate_batch([8.0, 2.0, 0.0], 23, floor=1)
    assert alloc.tolist()[2] == 1 and alloc.sum() == 23 and alloc[0] > alloc[1]


def test_allocation_respects_capacity():
    alloc = allocate_batch([10.0, 1.0, 1.0], 9, floor=1, capacity=[2, 100, 0])
    assert alloc.tolist()[0] == 2 and alloc[2] == 0 and alloc.sum() == 9
    assert allocate_batch([1.0, 1.0], 50, capacity=[3, 4]).sum() == 7


def _pool(seed=0, n=400):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], dtype=float)
    X = np.vstack([c + rng.normal(size=(n // 4, 2)) for c in centers])
    y_true = (X[:, 0] + rng.normal(scale=1.0, size=n) > 3).astype(int)
    order = rng.permutation(n)  # so the first rows mix blobs and classes
    return X[order], y_true[order]


def test_region_sampler_allocation_and_info():
    X, y_true = _pool()
    y = np.full(len(y_true), -1)
    start = np.random.default_rng(1).choice(len(y), 20, replace=False)
    y[start] = y_true[start]
    model = LogisticRegression().fit(X[start], y[start])
    sampler = RegionSampler(n_regions=4, floor=1, random_state=0)
    q = sampler.query(model, X, 12, y=y)
    regions = q.info["regions"]
    assert len(regions) == 4
    assert sum(r["allocation"] for r in regions) == 12 == len(q.indices)
    assert all(r["allocation"] >= 1 for r in regions)
    assert all(r["strategy"] in ("margin", "entropy", "committee", "cluster") for r in regions)
    assert len(set(q.indices.tolist())) == 12 and (y[q.indices] == -1).all()
    # each region's picks lie in that region
    region_of = sampler.regions(X)
    for r in regions:
        assert (region_of[q.indices] == r["region"]).sum() == r["allocation"]


def test_region_bandit_learns_across_rounds_and_pickles():
    X, y_true = _pool(2)
    y = np.full(len(y_true), -1)
    start = np.random.default_rng(3).choice(len(y), 20, replace=False)
    y[start] = y_true[start]
    sampler = RegionSampler(n_regions=3, random_state=5)
    for _ in range(6):
        model = LogisticRegression().fit(X[y != -1], y[y != -1])
        q = sampler.query(model, X, 9, y=y)
        y[q.indices] = y_true[q.indices]  # the oracle answers
    assert sampler.rounds_ == 6
    assert sampler.reward_count_.sum() > 0  # earlier picks were credited
    assert sampler.pulls_.sum() >= 6 * 3 - 3
    # after a few rounds every strategy has been tried somewhere (exploration)
    assert (sampler.pulls_.sum(axis=0) > 0).all()
    clone = pickle.loads(pickle.dumps(sampler))
    model = LogisticRegression().fit(X[y != -1], y[y != -1])
    a = sampler.query(model, X, 9, y=y)
    b = clone.query(model, X, 9, y=y)
    assert a.indices.tolist() == b.indices.tolist()
    assert [r["strategy"] for r in a.info["regions"]] == [r["strategy"] for r in b.info["regions"]]


def test_region_sampler_matches_items_by_id():
    X, y_true = _pool(4, 80)
    ids = np.arange(1000, 1080)
    y = np.full(80, -1)
    y[:10] = y_true[:10]
    y[0], y[1] = 0, 1
    sampler = RegionSampler(n_regions=2, random_state=0)
    model = LogisticRegression().fit(X[y != -1], y[y != -1])
    q = sampler.query(model, X, 4, y=y, ids=ids)
    assert set(sampler.pending_) == set(ids[q.indices].tolist())
    y[q.indices] = y_true[q.indices]
    sampler.query(model, X, 4, y=y, ids=ids)
    assert sampler.history_[-1]["credited"] == 4


def test_cold_start_when_a_class_has_no_label():
    X, y_true = _pool()
    y = np.full(len(y_true), -1)
    zeros = np.flatnonzero(y_true == 0)[:5]
    y[zeros] = 0
    for name in STRATEGIES:
        if name == "random":
            continue
        idx, info = select(name, object(), X, 6, y=y, classes=[0, 1], random_state=0)
        assert info["cold_start"] is True, name
        assert info["strategy_used"] == "cluster" and info["strategy"] == name
        assert "1" in info["reason"]
        assert len(set(idx.tolist())) == 6 and (y[idx] == -1).all()


def test_no_cold_start_once_every_class_is_labeled():
    X, y_true = _pool()
    y = np.full(len(y_true), -1)
    y[:30] = y_true[:30]
    model = LogisticRegression().fit(X[:30], y[:30])
    for name in STRATEGIES:
        _, info = select(name, model, X, 5, y=y, classes=[0, 1], random_state=0)
        assert info["cold_start"] is False and info["strategy_used"] == name, name


def test_random_never_cold_starts():
    X, _ = _pool()
    _, info = select("random", None, X, 5, random_state=0)
    assert info["cold_start"] is False and info["strategy_used"] == "random"


def test_cold_start_reasons():
    assert cold_start_reason(None) == "no model yet"
    assert cold_start_reason(object(), y=[-1, -1], classes=["a", "b"]).startswith(
        "no label yet for classes"
    )
    assert cold_start_reason(object(), y=[0, 0], classes=None) == "fewer than two classes labeled"


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        select("nope", None, np.zeros((3, 1)), 1)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_rank_puts_the_batch_on_top_and_labeled_rows_last(name):
    X, y_true = _pool()
    y = np.full(len(y_true), -1)
    y[:30] = y_true[:30]
    model = LogisticRegression().fit(X[:30], y[:30])
    r = rank(name, model, X, 8, y=y, classes=[0, 1], random_state=0)
    n = len(X)
    assert sorted(r.order.tolist()) == list(range(n))
    assert r.order[:8].tolist() == r.indices.tolist()
    assert np.isneginf(r.scores[:30]).all()
    assert set(r.order[-30:].tolist()) == set(range(30))
    assert np.isfinite(r.scores[30:]).all()
    # scores agree with the order
    assert (np.diff(r.scores[r.order[: n - 30]]) <= 0).all()


def test_rank_cold_start_orders_by_centrality():
    X, _ = _pool()
    r = rank("margin", None, X, 4, y=np.full(len(X), -1), classes=[0, 1], random_state=0)
    assert r.info["cold_start"] and len(r.order) == len(X)
