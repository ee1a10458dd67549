"""Confident learning finds labels flipped at random (issue 10's bar).

scikit-learn's digits (1,797 images, 10 classes) with 5% of the labels flipped to
another class at random, three seeds: held-out probabilities from an SVC (5-fold,
:func:`labeler.quality.mislabels.out_of_sample_proba`) and cleanlab's
``find_label_issues`` (:func:`labeler.quality.mislabels.find_mislabels`) must find
at least 80% of the flipped labels at a precision of at least 0.8. Noise-rate
pruning, cleanlab's default and the more conservative filter, is held to its own
measured strength (precision at least 0.9) so that a change of either shows.
The data ships with scikit-learn, so this needs nothing from ``../shared/data``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from labeler.quality.mislabels import find_mislabels, out_of_sample_proba

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning"),
]


def _flipped(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    flip = rng.choice(len(y), int(0.05 * len(y)), replace=False)
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 10, len(flip))) % 10
    return X, noisy, flip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confident_learning_finds_random_flips_in_digits(seed: int) -> None:
    X, noisy, flip = _flipped(seed)
    proba = out_of_sample_proba(SVC(gamma=0.001, probability=True, random_state=0), X, noisy)
    assert proba is not None and proba.shape == (len(noisy), 10)

    found = find_mislabels(noisy, proba)
    hits = np.isin(found.index, flip)
    recall, precision = hits.sum() / len(flip), hits.mean()
    assert recall >= 0.8 and precision >= 0.8, (recall, precision)
    # Ranked most suspect first, and the suggestion is the held-out prediction.
    assert np.all(np.diff(found.quality) >= 0)
    assert np.array_equal(found.suggested, proba[found.index].argmax(axis=1))

    pruned = find_mislabels(noisy, proba, filter_by="prune_by_noise_rate")
    assert np.isin(pruned.index, flip).mean() >= 0.9


def test_a_class_with_one_label_gives_no_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    X = np.arange(10, dtype=float).reshape(-1, 1)
    assert out_of_sample_proba(LogisticRegression(), X, [0] * 9 + [1]) is None
    with pytest.raises(ValueError, match="filter_by"):
        find_mislabels([0], np.array([[1.0, 0.0]]), filter_by="nope")
