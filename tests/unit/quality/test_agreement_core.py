"""The pure agreement core against the field's reference implementations, on random data.

Krippendorff's alpha against the ``krippendorff`` package (a test-only
dependency: it is GPL-3.0, the service computes alpha itself), Cohen's kappa
against scikit-learn's ``cohen_kappa_score`` on every rater pair, Fleiss' kappa
against statsmodels on the group it picks.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from labeler.quality import agreement as ag
from labeler.quality.consensus import leave_one_out_majority, majority, majority_codes


def _random_answers(seed: int, n_items: int = 60, n_raters: int = 6, k: int = 4, p: float = 0.5):
    """Raters answering a random subset of items, noisy around a true label."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    grid = np.where(
        rng.random((n_raters, n_items)) < 0.7, truth, rng.integers(0, k, (n_raters, n_items))
    )
    answered = rng.random((n_raters, n_items)) < p
    rater, item = np.nonzero(answered)
    return item, rater, grid[rater, item], n_items, n_raters, k


def _reliability(item, rater, label, n_items, n_raters):
    data = np.full((n_raters, n_items), np.nan)
    data[rater, item] = label
    return data


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_alpha_matches_the_krippendorff_package(seed: int, level: str) -> None:
    item, rater, label, n_items, n_raters, k = _random_answers(seed)
    counts = ag.item_label_counts(item, label, n_items, k)
    ours, n = ag.krippendorff_alpha(counts, level)  # type: ignore[arg-type]
    data = _reliability(item, rater, label, n_items, n_raters)
    theirs = krippendorff.alpha(
        reliability_data=data, level_of_measurement=level, value_domain=list(range(k))
    )
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert n == int(((~np.isnan(data)).sum(axis=0) >= 2).sum())


def test_alpha_ignores_items_with_one_answer() -> None:
    counts = np.array([[2, 0], [0, 2], [1, 1]])
    with_singles = np.vstack([counts, [[1, 0], [0, 1], [0, 0]]])
    assert ag.krippendorff_alpha(with_singles) == ag.krippendorff_alpha(counts)
    assert ag.krippendorff_alpha(np.array([[1, 0], [0, 1]])) == (None, 0)


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_cohen_matches_sklearn_on_every_pair(seed: int) -> None:
    item, rater, label, n_items, n_raters, k = _random_answers(seed, p=0.8)
    tables = ag.pair_tables(item, rater, label, k)
    kappas = ag.cohen_kappa_from_tables(tables.tables)
    data = _reliability(item, rater, label, n_items, n_raters)
    assert len(tables.pairs) == n_raters * (n_raters - 1) // 2
    for (a, b), kappa, n in zip(tables.pairs, kappas, tables.support, strict=True):
        both = ~np.isnan(data[a]) & ~np.isnan(data[b])
        assert n == both.sum()
        assert kappa == pytest.approx(cohen_kappa_score(data[a, both], data[b, both]), abs=1e-12)


def test_sklearn_cohen_tables() -> None:
    """scikit-learn's own test tables (Artstein and Poesio 2008, tables 1 and 4)."""
    cases = [
        (np.array([0] * 40 + [1] * 60), np.array([0] * 20 + [1] * 20 + [0] * 10 + [1] * 50), 0.348),
        (
            np.array([0] * 46 + [1] * 44 + [2] * 10),
            np.array([0] * 52 + [1] * 32 + [2] * 16),
            0.8013,
        ),
        (
            np.array([0] * 46 + [1] * 44 + [2] * 10),
            np.array([0] * 50 + [1] * 40 + [2] * 10),
            0.9315,
        ),
    ]
    for y1, y2, published in cases:
        n = len(y1)
        item = np.concatenate([np.arange(n), np.arange(n)])
        rater = np.repeat([0, 1], n)
        tables = ag.pair_tables(item, rater, np.concatenate([y1, y2]), 3)
        kappa = ag.cohen_kappa_from_tables(tables.tables)[0]
        assert kappa == pytest.approx(cohen_kappa_score(y1, y2), abs=1e-12)
        assert round(kappa, len(str(published)) - 2) == published


def test_cohen_is_undefined_when_both_raters_use_one_label() -> None:
    kappa = ag.cohen_kappa_from_tables(np.array([[[5, 0], [0, 0]]]))
    assert np.isnan(kappa[0])


def test_fleiss_uses_the_most_common_number_of_raters() -> None:
    counts = np.array([[3, 0], [2, 1], [0, 3], [1, 2], [2, 0], [1, 1], [1, 0]])
    kappa, n, m = ag.fleiss_kappa(counts)
    assert (n, m) == (4, 3)
    assert kappa == pytest.approx(sm_fleiss(counts[:4], method="fleiss"))
    assert ag.fleiss_kappa(np.array([[1, 0], [0, 1]])) == (None, 0, 0)


def test_percent_agreement_and_entropy() -> None:
    counts = np.array([[3, 0, 0], [1, 1, 1], [2, 0, 0], [0, 1, 0]])
    pct, n = ag.percent_agreement(counts)
    assert n == 3
    assert pct == pytest.approx((1 + 0 + 1) / 3)
    assert ag.item_entropy(counts) == pytest.approx([0, np.log2(3), 0, 0])


@pytest.mark.parametrize("seed", range(5))
def test_majority_codes_is_the_consensus_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lists = [list(rng.integers(0, 3, rng.integers(0, 6))) for _ in range(200)]
    counts = np.array([np.bincount(x, minlength=3) if x else np.zeros(3, int) for x in lists])
    expected = [majority(x)[0] for x in lists]
    assert majority_codes(counts).tolist() == [-1 if e is None else e for e in expected]


def test_leave_one_out_leaves_the_answer_out() -> None:
    item, _, label, n_items, _, k = _random_answers(7)
    counts = ag.item_label_counts(item, label, n_items, k)
    loo = leave_one_out_majority(counts, item, label)
    for i in range(len(item)):
        others = [int(label[j]) for j in range(len(item)) if item[j] == item[i] and j != i]
        got = majority(others)[0]
        assert loo[i] == (-1 if got is None else got)
