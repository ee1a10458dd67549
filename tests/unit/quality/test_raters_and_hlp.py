"""Rater figures, Dawid-Skene's arrays and human-level performance, on small simulated crowds."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.quality import agreement as ag
from labeler.quality.hlp import human_level, weighted_scores
from labeler.quality.raters import LABEL, SKIP, UNSURE, dawid_skene, group_median, rater_stats


def _crowd(accuracies, n_items=400, k=3, per_item=3, seed=0):
    """Each item answered by ``per_item`` random raters; rater r is right with p = accuracies[r]."""
    rng = np.random.default_rng(seed)
    n_raters = len(accuracies)
    truth = rng.integers(0, k, n_items)
    who = np.argsort(rng.random((n_items, n_raters)), axis=1)[:, :per_item]
    item = np.repeat(np.arange(n_items), per_item)
    rater = who.ravel()
    right = rng.random(len(item)) < np.asarray(accuracies)[rater]
    wrong = (truth[item] + rng.integers(1, k, len(item))) % k
    label = np.where(right, truth[item], wrong)
    return item, rater, label, truth


@pytest.mark.parametrize("whole_ms", [False, True])
def test_group_median_matches_numpy(whole_ms: bool) -> None:
    rng = np.random.default_rng(1)
    group = rng.integers(0, 7, 500)
    values = rng.integers(0, 10**6, 500).astype(float) if whole_ms else rng.random(500)
    values[rng.random(500) < 0.1] = np.nan
    got = group_median(group, values, 8)
    for g in range(7):
        assert got[g] == pytest.approx(np.nanmedian(values[group == g]))
    assert np.isnan(got[7])


def test_rater_stats_rates_durations_and_the_flag() -> None:
    accs = [0.95, 0.9, 0.9, 0.9, 0.35]
    item, rater, label, _ = _crowd(accs, n_items=600, seed=2)
    counts = ag.item_label_counts(item, label, 600, 3)
    # Rater 0 also skipped 10 items and was unsure about 5 others.
    extra_rater = np.zeros(15, dtype=np.int64)
    kinds = np.concatenate([np.full(len(item), LABEL), [SKIP] * 10, [UNSURE] * 5])
    all_rater = np.concatenate([rater, extra_rater])
    durations = np.where(all_rater == 1, 2000.0, 1000.0)
    stats = rater_stats(
        all_rater,
        kinds,
        durations,
        5,
        label_item=item,
        label_rater=rater,
        label=label,
        counts=counts,
        threshold=0.6,
    )
    n0 = int((rater == 0).sum()) + 15
    assert stats.answers[0] == n0
    assert stats.skip_rate[0] == pytest.approx(10 / n0)
    assert stats.unsure_rate[0] == pytest.approx(5 / n0)
    assert stats.median_ms.tolist() == [1000.0, 2000.0, 1000.0, 1000.0, 1000.0]
    assert stats.flagged.tolist() == [False, False, False, False, True]
    assert stats.loo_agreement[0] > stats.loo_agreement[4] + 0.3


def test_dawid_skene_recovers_rater_accuracy() -> None:
    accs = [0.95, 0.9, 0.8, 0.7, 0.6, 0.55]
    item, rater, label, truth = _crowd(accs, n_items=2000, seed=3)
    result = dawid_skene(item, rater, label, 2000, len(accs), 3)
    assert result.confusion.shape == (6, 3, 3)
    assert result.confusion.sum(axis=2) == pytest.approx(np.ones((6, 3)), abs=1e-6)
    assert result.accuracy == pytest.approx(accs, abs=0.05)
    assert (result.labels == truth).mean() > 0.85


def test_weighted_scores_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(4)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    acc, f1 = weighted_scores(np.bincount(y * 4 + p, minlength=16).astype(float), 4)
    assert acc == pytest.approx(accuracy_score(y, p))
    assert f1 == pytest.approx(f1_score(y, p, average="macro"))


def test_human_level_estimates_one_rater_against_the_others() -> None:
    # Five equally good raters answer every item: a rater matches the majority of the
    # other four about as often as theory says (binary, p = 0.8).
    p, n_items = 0.8, 3000
    item, _, label, _ = _crowd([p] * 5, n_items=n_items, k=2, per_item=5, seed=5)
    counts = ag.item_label_counts(item, label, n_items, 2)
    hlp = human_level(counts, item, label, n_boot=100, random_state=1)
    # P(others have a 3-1 or 4-0 majority and it is right or wrong) -> expected match rate.
    from math import comb

    right4 = {j: comb(4, j) * p**j * (1 - p) ** (4 - j) for j in range(5)}
    p_right_major = right4[3] + right4[4]
    p_wrong_major = right4[0] + right4[1]
    expected = (p * p_right_major + (1 - p) * p_wrong_major) / (p_right_major + p_wrong_major)
    assert hlp.accuracy == pytest.approx(expected, abs=0.02)
    lo, hi = hlp.accuracy_ci  # type: ignore[misc]
    assert lo < hlp.accuracy < hi
    assert hi - lo < 0.05
    again = human_level(counts, item, label, n_boot=100, random_state=1)
    assert again.accuracy_ci == hlp.accuracy_ci
    assert (
        human_level(counts, item, label, n_boot=100, random_state=2).accuracy_ci != hlp.accuracy_ci
    )


def test_human_level_without_pairs_is_none() -> None:
    counts = np.array([[1, 0], [0, 1]])
    hlp = human_level(counts, np.array([0, 1]), np.array([0, 1]))
    assert hlp.accuracy is None and hlp.n_items == 0


def test_pattern_bootstrap_matches_resampling_items() -> None:
    """The multinomial over distinct count rows is the item bootstrap: same interval."""
    from labeler.quality.consensus import leave_one_out_majority

    item, _, label, _ = _crowd([0.9, 0.8, 0.7, 0.6], n_items=500, k=3, per_item=3, seed=8)
    counts = ag.item_label_counts(item, label, 500, 3)
    ours = human_level(counts, item, label, n_boot=2000, random_state=3)

    loo = leave_one_out_majority(counts, item, label)
    ok = loo >= 0
    weight = 1.0 / counts.sum(axis=1)[item[ok]]
    cell = loo[ok] * 3 + label[ok]
    scored_items = np.unique(item[ok])
    rng = np.random.default_rng(9)
    accs = []
    for _ in range(2000):
        times = np.bincount(rng.choice(scored_items, len(scored_items)), minlength=500)
        table = np.bincount(cell, weights=weight * times[item[ok]], minlength=9)
        accs.append(weighted_scores(table, 3)[0])
    naive = np.percentile(accs, [2.5, 97.5])
    assert ours.accuracy_ci == pytest.approx(naive, abs=0.006)
