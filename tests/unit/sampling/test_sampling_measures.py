"""Measures on literal probabilities: hand-computed values and modAL parity."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.disagreement import KL_max_disagreement as modal_kl
from modAL.disagreement import consensus_entropy as modal_consensus
from modAL.disagreement import vote_entropy as modal_vote
from modAL.uncertainty import _proba_entropy, _proba_margin, _proba_uncertainty

from labeler.sampling.measures import (
    consensus_entropy,
    entropy_scores,
    kl_max_disagreement,
    least_confidence,
    margin,
    margin_scores,
    vote_entropy,
)

PROBA = np.array(
    [
        [0.90, 0.05, 0.05],
        [0.40, 0.35, 0.25],
        [1 / 3, 1 / 3, 1 / 3],
        [0.50, 0.50, 0.00],
        [1.00, 0.00, 0.00],
    ]
)

# two members, three rows, two classes
STACK = np.array(
    [
        [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]],
        [[0.7, 0.3], [0.3, 0.7], [0.2, 0.8]],
    ]
)


def test_least_confidence_by_hand():
    assert least_confidence(PROBA) == pytest.approx([0.10, 0.60, 2 / 3, 0.50, 0.0])


def test_margin_scores_sign_higher_is_more_uncertain():
    assert margin(PROBA) == pytest.approx([0.85, 0.05, 0.0, 0.0, 1.0])
    assert margin_scores(PROBA) == pytest.approx([0.15, 0.95, 1.0, 1.0, 0.0])


def test_entropy_by_hand():
    expected = [-sum(p * np.log(p) for p in row if p > 0) for row in PROBA]
    assert entropy_scores(PROBA) == pytest.approx(expected)
    assert entropy_scores(PROBA)[2] == pytest.approx(np.log(3))


def test_single_model_measures_match_modal():
    assert least_confidence(PROBA) == pytest.approx(_proba_uncertainty(PROBA))
    assert margin(PROBA) == pytest.approx(_proba_margin(PROBA))
    assert entropy_scores(PROBA) == pytest.approx(_proba_entropy(PROBA))


def test_binary_margin_shortcut():
    p = np.array([[0.8, 0.2], [0.45, 0.55]])
    assert margin(p) == pytest.approx([0.6, 0.1])


def test_float32_stays_float32():
    assert margin_scores(PROBA.astype(np.float32)).dtype == np.float32
    assert entropy_scores(PROBA.astype(np.float32)).dtype == np.float32


def test_vote_entropy_by_hand():
    # row 0: both vote 0; row 1: 0 vs 1; row 2: both vote 1
    assert vote_entropy(STACK) == pytest.approx([0.0, np.log(2), 0.0])
    votes = np.array([[0, 1, 2], [0, 1, 2], [0, 2, 2]])  # 3 members
    h = -(2 / 3) * np.log(2 / 3) - (1 / 3) * np.log(1 / 3)
    assert vote_entropy(votes, n_classes=3) == pytest.approx([0.0, h, 0.0])


def test_consensus_entropy_by_hand():
    mean = np.array([[0.8, 0.2], [0.45, 0.55], [0.2, 0.8]])
    expected = -(mean * np.log(mean)).sum(axis=1)
    assert consensus_entropy(STACK) == pytest.approx(expected)


def test_kl_max_disagreement_by_hand():
    mean = STACK.mean(axis=0)
    kl = (STACK * np.log(STACK / mean)).sum(axis=2)
    assert kl_max_disagreement(STACK) == pytest.approx(kl.max(axis=0))
    assert kl_max_disagreement(STACK)[2] == pytest.approx(0.0)
    # row 1 (members disagree on the class) beats row 0 (same class, different confidence)
    assert np.argmax(kl_max_disagreement(STACK)) == 1


class _FakeCommittee:
    """Just enough of modAL's committee interface for its measures."""

    def __init__(self, stack):
        self.stack = stack
        self.classes_ = np.arange(stack.shape[2])

    def __len__(self):
        return self.stack.shape[0]

    def __iter__(self):
        return iter(range(len(self)))

    def vote(self, X):
        return self.stack.argmax(axis=2).T

    def vote_proba(self, X):
        return self.stack.transpose(1, 0, 2)

    def predict_proba(self, X):
        return self.stack.mean(axis=0)


def test_committee_measures_match_modal():
    rng = np.random.default_rng(0)
    stack = rng.dirichlet(np.ones(4), size=(5, 50))
    fake = _FakeCommittee(stack)
    X = np.zeros((50, 1))
    assert vote_entropy(stack) == pytest.approx(modal_vote(fake, X))
    assert consensus_entropy(stack) == pytest.approx(modal_consensus(fake, X))
    assert kl_max_disagreement(stack) == pytest.approx(modal_kl(fake, X))


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="n_samples, n_classes"):
        margin_scores(np.ones(3))
    with pytest.raises(ValueError, match="n_members, n_samples, n_classes"):
        consensus_entropy(np.ones((2, 2)))
