"""The consensus methods (majority vote, Wawa, Dawid-Skene) on small arrays and simulated crowds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeler.quality.consensus import (
    METHODS,
    aggregate,
    label_counts,
    majority,
    majority_consensus,
    top_label,
    wawa_consensus,
)
from tests.unit.quality.test_raters_and_hlp import _crowd


def test_majority_consensus_is_majority_per_item() -> None:
    rng = np.random.default_rng(3)
    item = rng.integers(0, 50, 200)
    label = rng.integers(0, 3, 200)
    got = majority_consensus(item, label, 50, 3)
    for i in range(50):
        votes = label[item == i].tolist()
        expected, share = majority(votes)
        assert got.labels[i] == (-1 if expected is None else expected)
        if share is None:
            assert np.isnan(got.confidence[i])
        else:
            assert got.confidence[i] == pytest.approx(share)


def test_top_label_ties_and_empty_rows() -> None:
    proba = np.array([[0.4, 0.4, 0.2], [0.1, 0.3, 0.6], [0.0, 0.0, 0.0], [0.5, 0.5 + 1e-12, 0.0]])
    got = top_label(proba)
    assert got.labels.tolist() == [-1, 2, -1, -1]
    assert got.confidence[1] == 0.6 and np.isnan(got.confidence[[0, 2, 3]]).all()
    one = top_label(np.array([[1.0]]))  # one label: no second to tie with
    assert one.labels.tolist() == [0] and one.confidence.tolist() == [1.0]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_shapes_ties_and_empty_input(method: str) -> None:
    # Items 0 and 3 unanimous (one per label); items 1 and 2 split between raters 0 and 1,
    # mirror images, so every method sees the two labels and the two raters alike and
    # must call both a tie; item 4 unanswered.
    item = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    rater = np.array([0, 1, 2, 0, 1, 0, 1, 0, 1, 2])
    label = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    got = aggregate(method, item, rater, label, 5, 3, 2)
    assert got.labels.shape == got.confidence.shape == (5,)
    assert got.labels[[0, 3]].tolist() == [1, 0]
    assert (got.confidence[[0, 3]] > 0.5).all() and (got.confidence[[0, 3]] <= 1).all()
    assert got.labels[[1, 2, 4]].tolist() == [-1, -1, -1]
    assert np.isnan(got.confidence[[1, 2, 4]]).all()
    empty = aggregate(method, np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), 2, 0, 2)
    assert empty.labels.tolist() == [-1, -1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_wawa_confidence_is_the_weighted_vote_share() -> None:
    item, rater, label, _ = _crowd([0.9, 0.9, 0.6, 0.4], n_items=300, seed=4)
    got = wawa_consensus(item, rater, label, 300, 3)
    # Wawa's skills: each rater's agreement with majority vote (crowd-kit's, whose tie-break
    # depends on the order of the data), checked against the plain definition off the ties.
    from crowdkit.aggregation import Wawa

    frame = pd.DataFrame({"task": item, "worker": rater, "label": label})
    skill = Wawa().fit(frame).skills_.sort_index().to_numpy()
    counts = label_counts(item, label, 300, 3)
    clear = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) == 1
    mv = counts.argmax(axis=1)
    for r in range(4):
        mine = (rater == r) & clear[item]
        hits = (label[mine] == mv[item[mine]]).sum()
        assert (
            hits / (rater == r).sum()
            <= skill[r]
            <= (hits + (~clear[item] & (rater == r)).sum()) / (rater == r).sum()
        )
    weighted = np.zeros((300, 3))
    np.add.at(weighted, (item, label), skill[rater])
    share = weighted / weighted.sum(axis=1, keepdims=True)
    has = got.labels >= 0
    assert has.mean() > 0.95
    assert got.confidence[has] == pytest.approx(share[has, got.labels[has]])
    assert (share[has].argmax(axis=1) == got.labels[has]).all()
