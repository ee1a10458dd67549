"""Training on human plus weak labels (issue 9 item 9): the weighting, pure (no database)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from labeler.learning.round import run_round
from labeler.learning.training import supports_weights, train, with_weak_labels


def test_human_labels_win_and_weak_ones_are_weighted_by_confidence() -> None:
    human = np.array([0, 1, -1, -1, -1, -1, 1])
    weak = np.array([1, 1, 0, 1, 0, -1, -1])  # item 0: a human label overrides the weak one
    conf = np.array([0.99, 0.99, 0.95, 0.89, 0.9, 0.99, 0.0])
    y, w, n = with_weak_labels(human, weak, conf, 0.9)
    assert y.tolist() == [0, 1, 0, -1, 0, -1, 1]
    assert w.tolist() == [1.0, 1.0, 0.95, 0.0, 0.9, 0.0, 1.0]
    assert n == 2
    # The threshold is inclusive; 0 takes every weak label there is.
    assert with_weak_labels(human, weak, conf, 0.0)[2] == 3
    assert with_weak_labels(human, weak, conf, 1.0)[2] == 0


def test_weights_change_the_model() -> None:
    # Two rows on the same point disagree: the heavier one decides the prediction.
    X = np.array([[0.0], [0.0], [3.0], [-3.0]])
    y = np.array([0, 1, 1, 0])
    heavy_0 = train(X, y, random_state=0, sample_weight=[1.0, 0.1, 1.0, 1.0])
    heavy_1 = train(X, y, random_state=0, sample_weight=[0.1, 1.0, 1.0, 1.0])
    p0 = heavy_0.predict_proba([[0.0]])[0, 1]
    p1 = heavy_1.predict_proba([[0.0]])[0, 1]
    assert p0 < 0.5 < p1


def test_estimators_without_sample_weight_train_unweighted_and_say_so() -> None:
    assert supports_weights(LogisticRegression()) and not supports_weights(KNeighborsClassifier())
    X = np.array([[0.0], [0.1], [0.2], [3.0], [3.1], [3.2], [1.5], [1.4]])
    human = np.array([0, -1, -1, 1, -1, -1, -1, -1])
    y, w, n_weak = with_weak_labels(
        human, [0, 0, 0, 1, 1, 1, -1, -1], [1, 0.95, 0.9] * 2 + [0, 0], 0.9
    )
    knn = KNeighborsClassifier(n_neighbors=1)
    r = run_round(X, human, 2, "margin", model=knn, cv=None, train_y=y, sample_weight=w)
    assert r.metrics["n_weak_labels"] == n_weak == 4
    assert r.metrics["n_train"] == 6 and r.metrics["weighted"] is False
    lr = run_round(X, human, 2, "margin", random_state=0, cv=None, train_y=y, sample_weight=w)
    assert lr.metrics["weighted"] is True
    # Weak rows are trained on but still ranked as unlabeled: only human rows sink.
    assert set(np.flatnonzero(~np.isfinite(lr.scores)).tolist()) == {0, 3}


@pytest.mark.parametrize("bad", [np.array([0, 1]), np.array([0, 1, -1])])
def test_shapes_must_agree(bad: np.ndarray) -> None:
    with pytest.raises((ValueError, IndexError)):
        with_weak_labels([0, -1, -1, -1], bad, [1.0, 1.0, 1.0, 1.0], 0.5)
