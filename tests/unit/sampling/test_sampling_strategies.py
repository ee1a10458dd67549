"""Strategies on small literal pools: ambiguity first, no duplicates, reproducible ties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from labeler.sampling import (
    STRATEGIES,
    Committee,
    cluster_sampling,
    committee_sampling,
    entropy_sampling,
    least_confident_sampling,
    margin_sampling,
    random_sampling,
    region_sampling,
)
from labeler.sampling._base import rank_order, top_n
from labeler.sampling.cluster import diverse_top_n

# Row 3 is the most ambiguous under every measure.
PROBA = np.array(
    [
        [0.90, 0.05, 0.05],
        [0.70, 0.20, 0.10],
        [0.60, 0.30, 0.10],
        [0.34, 0.33, 0.33],
        [0.80, 0.15, 0.05],
        [0.05, 0.90, 0.05],
    ]
)
X_LINE = np.array([[-3.0], [-2.0], [-1.0], [0.05], [1.0], [2.0], [3.0], [-0.5]])
Y_LINE = np.array([0, 0, -1, -1, -1, 1, 1, -1])


@pytest.fixture(scope="module")
def line_model():
    return LogisticRegression().fit(X_LINE[[0, 1, 5, 6]], [0, 0, 1, 1])


@pytest.mark.parametrize("strategy", [least_confident_sampling, margin_sampling, entropy_sampling])
def test_most_ambiguous_first_from_probabilities(strategy):
    assert strategy(PROBA, None, 1)[0] == 3
    batch = strategy(PROBA, None, 3, random_state=0)
    assert batch[0] == 3


@pytest.mark.parametrize("strategy", [least_confident_sampling, margin_sampling, entropy_sampling])
def test_most_ambiguous_first_with_model(strategy, line_model):
    # x = 0.05 sits on the decision boundary
    batch = strategy(line_model, X_LINE, 3, y=Y_LINE, random_state=0)
    assert batch[0] == 3
    assert not set(batch.tolist()) & {0, 1, 5, 6}  # labeled rows are never picked


def test_committee_most_disagreement_first(line_model):
    batch = committee_sampling(LogisticRegression(), X_LINE, 2, y=Y_LINE, random_state=0)
    assert batch[0] == 3


def test_result_contract_for_every_strategy(line_model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y_true = (X[:, 0] > 0).astype(int)
    y = np.full(60, -1)
    y[:10] = y_true[:10]
    model = LogisticRegression().fit(X[:10], y[:10])
    for name, strategy in STRATEGIES.items():
        model_arg = LogisticRegression() if name == "committee" else model
        for n in (1, 7, 50, 80):
            idx = strategy(model_arg, X, n, y=y, random_state=1)
            assert idx.dtype == np.int64, name
            assert len(idx) == min(n, 50), (name, n)
            assert len(set(idx.tolist())) == len(idx), (name, n)
            assert (y[idx] == -1).all(), name


def test_length_is_min_n_len_x():
    assert len(margin_sampling(PROBA, None, 100)) == len(PROBA)
    assert len(random_sampling(None, np.zeros((4, 1)), 10)) == 4
    assert len(margin_sampling(PROBA, None, 0)) == 0


def test_ties_reproducible_by_random_state():
    tied = np.full((40, 2), 0.5)  # every row equally uncertain
    a = margin_sampling(tied, None, 5, random_state=7)
    b = margin_sampling(tied, None, 5, random_state=7)
    assert a.tolist() == b.tolist()
    draws = {tuple(margin_sampling(tied, None, 5, random_state=s).tolist()) for s in range(10)}
    assert len(draws) > 1


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_reproducible(name):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    y = np.full(80, -1)
    y[:12] = (X[:12, 0] > 0).astype(int)
    y[0], y[1] = 0, 1
    model = LogisticRegression().fit(X[y != -1], y[y != -1])
    arg = LogisticRegression() if name == "committee" else model
    first = STRATEGIES[name](arg, X, 6, y=y, random_state=11)
    again = STRATEGIES[name](arg, X, 6, y=y, random_state=11)
    assert first.tolist() == again.tolist()


def test_top_n_ties_and_infinities():
    s = np.array([1.0, 5.0, 5.0, -np.inf, np.nan, 5.0])
    got = top_n(s, 10, random_state=0)
    assert sorted(got.tolist()) == [0, 1, 2, 5]
    assert set(got[:3].tolist()) == {1, 2, 5}
    assert rank_order(s, random_state=0)[-2:].tolist() in ([3, 4], [4, 3])


def test_batch_aware_spreads_over_two_spots():
    X = np.vstack([np.zeros((5, 1)), np.full((5, 1), 10.0)])
    scores = np.array([0.9] * 5 + [0.8] * 5)
    plain = diverse_top_n(X, scores, 2, diversity=1, random_state=0)
    spread = diverse_top_n(X, scores, 2, diversity=5, random_state=0)
    assert set(plain.tolist()) <= set(range(5))
    assert {int(i >= 5) for i in spread.tolist()} == {0, 1}


def test_cluster_cold_start_takes_one_central_item_per_blob():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(scale=0.5, size=(30, 2)) for c in centers])
    idx = cluster_sampling(None, X, 3, random_state=0)
    assert sorted((idx // 30).tolist()) == [0, 1, 2]
    for i in idx:
        assert np.linalg.norm(X[i] - centers[i // 30]) < 0.6


def test_cluster_with_model_picks_uncertain_rows(line_model):
    idx = cluster_sampling(line_model, X_LINE, 1, y=Y_LINE, random_state=0)
    assert idx.tolist() == [3]


def test_committee_class_conventions():
    c = Committee(LogisticRegression(), n_members=4, random_state=0)
    assert c.get_params()["n_members"] == 4
    assert not hasattr(c, "estimators_")
    assert c.fit(X_LINE[[0, 1, 5, 6]], [0, 0, 1, 1]) is c
    assert len(c.estimators_) == 4 and c.classes_.tolist() == [0, 1]
    stack = c.predict_proba_stack(X_LINE)
    assert stack.shape == (4, 8, 2)
    assert np.allclose(stack.sum(axis=2), 1.0)
    assert np.allclose(c.predict_proba(X_LINE), stack.mean(axis=0))
    # the stacked fast path equals each member's own predict_proba
    for k, member in enumerate(c.estimators_):
        assert np.allclose(stack[k], member.predict_proba(X_LINE))


def test_committee_heterogeneous_and_multiclass():
    from sklearn.naive_bayes import GaussianNB

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) + np.repeat(np.array([[0, 0], [4, 0], [0, 4]]), 20, axis=0)
    y = np.repeat([0, 1, 2], 20)
    c = Committee(estimators=[LogisticRegression(), GaussianNB()], n_members=4, random_state=0)
    c.fit(X, y)
    assert [type(m).__name__ for m in c.estimators_] == [
        "LogisticRegression",
        "GaussianNB",
        "LogisticRegression",
        "GaussianNB",
    ]
    assert c.predict_proba_stack(X).shape == (4, 60, 3)
    for measure in ("vote", "consensus", "kl"):
        idx = committee_sampling(c, X, 5, measure=measure, random_state=0)
        assert len(set(idx.tolist())) == 5
    # a committee with a class some member lacks still aligns columns
    stack = c.predict_proba_stack(X[:3])
    assert np.allclose(stack.sum(axis=2), 1.0)


def test_committee_on_literal_stack():
    stack = np.array([[[0.9, 0.1], [0.8, 0.2], [0.5, 0.5]], [[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]]])
    assert committee_sampling(stack, None, 1, measure="vote").tolist() == [1]
    assert committee_sampling(stack, None, 1, measure="kl").tolist() == [1]
    # consensus entropy: row 2 (both members unsure) is as uncertain as it gets
    assert committee_sampling(stack, None, 1, measure="consensus").tolist() == [2]


def _tfidf_pool(n=120):
    rng = np.random.default_rng(0)
    words_a = ["good", "great", "fine", "happy", "love"]
    words_b = ["bad", "awful", "poor", "sad", "hate"]
    docs, labels = [], []
    for i in range(n):
        lab = i % 2
        words = words_a if lab == 0 else words_b
        mix = rng.choice(words_a + words_b, size=2).tolist()
        docs.append(" ".join(rng.choice(words, size=3).tolist() + mix))
        labels.append(lab)
    return TfidfVectorizer().fit_transform(docs).tocsr(), np.array(labels)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_sparse_tfidf_pool(name):
    X, y_true = _tfidf_pool()
    assert sp.issparse(X)
    y = np.full(len(y_true), -1)
    y[:10] = y_true[:10]
    model = LogisticRegression().fit(X[:10], y[:10])
    arg = LogisticRegression() if name == "committee" else model
    idx = STRATEGIES[name](arg, X, 8, y=y, random_state=0)
    assert len(set(idx.tolist())) == 8 and (y[idx] == -1).all()


def test_sparse_csc_is_accepted():
    X, y_true = _tfidf_pool(40)
    model = LogisticRegression().fit(X, y_true)
    a = margin_sampling(model, X.tocsc(), 5, random_state=0)
    b = margin_sampling(model, X, 5, random_state=0)
    assert a.tolist() == b.tolist()


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    a = margin_sampling(model, X, 10, random_state=0, chunk_size=37)
    b = margin_sampling(model, X, 10, random_state=0)
    assert a.tolist() == b.tolist()


def test_region_function_form():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.8, 0.2], [0.55, 0.45]])
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    idx = region_sampling(proba, X, 2, n_regions=2, random_state=0)
    assert sorted(idx.tolist()) == [1, 3]
