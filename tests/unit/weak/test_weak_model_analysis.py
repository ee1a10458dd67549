"""Label model, majority vote and LF analysis against Snorkel's own classes."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.weak.analysis import lf_summary
from labeler.weak.model import covered, fit_label_model, majority_vote, predict

snorkel_model = pytest.importorskip("snorkel.labeling.model")
from snorkel.labeling import LFAnalysis  # noqa: E402
from snorkel.utils import probs_to_preds  # noqa: E402


def _random_L(n=300, m=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.where(rng.random((n, m)) < 0.8, y[:, None], rng.integers(0, k, (n, m)))
    L[rng.random((n, m)) < 0.6] = -1
    return L.astype(np.int8), y


def test_majority_vote_is_snorkels_with_uniform_uncovered_rows():
    L, _ = _random_L()
    ours = majority_vote(L, 3)
    theirs = snorkel_model.MajorityLabelVoter(cardinality=3).predict_proba(L.astype(int))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert np.allclose(ours[~covered(L)], 1 / 3)


def test_random_ties_break_as_snorkel_breaks_them():
    L, _ = _random_L(seed=1)
    proba = majority_vote(L, 3)
    assert (predict(proba, "random") == probs_to_preds(proba, tie_break_policy="random")).all()
    assert (predict(proba, "abstain") == probs_to_preds(proba, tie_break_policy="abstain")).all()
    resolved = majority_vote(L, 3, tie_policy="random")
    cov = covered(L)
    assert (predict(resolved)[cov] == probs_to_preds(proba, tie_break_policy="random")[cov]).all()
    assert (predict(resolved)[~cov] == -1).all()


def test_label_model_beats_noise_and_marks_uncovered_rows():
    L, y = _random_L(n=2000, m=8, k=3, seed=2)
    res = fit_label_model(L, 3, n_epochs=200)
    assert res.method == "label_model" and res.proba.dtype == np.float32
    assert res.weights is not None and res.weights.shape == (8,)
    pred = predict(res.proba)
    cov = covered(L)
    assert (pred[~cov] == -1).all()
    assert (pred[cov] == y[cov]).mean() > 0.85
    np.testing.assert_allclose(res.proba.sum(axis=1), 1, atol=1e-5)


def test_label_model_falls_back_to_majority_with_few_lfs_and_checks_inputs():
    L = np.array([[0, 1], [1, 1], [-1, -1]])
    res = fit_label_model(L, 2)
    assert res.method.startswith("majority") and res.weights is None
    assert predict(res.proba).tolist() == [-1, 1, -1]
    with pytest.raises(ValueError):
        fit_label_model(_random_L()[0], 3, class_balance=[0.5, 0.5])
    balanced = fit_label_model(_random_L()[0], 3, class_balance=[1, 1, 2], n_epochs=50)
    assert balanced.proba.shape == (300, 3)


def test_summary_matches_lf_analysis():
    L, y = _random_L(n=500, m=5, k=3, seed=3)
    ours = lf_summary(L, y=y, names=list("abcde"), weights=np.arange(5) / 10)
    ref = LFAnalysis(L.astype(int)).lf_summary(Y=y)
    for j, row in enumerate(ours["lfs"]):
        assert row["name"] == "abcde"[j]
        assert row["polarity"] == list(ref["Polarity"].iloc[j])
        for ours_key, ref_key in [
            ("coverage", "Coverage"),
            ("overlaps", "Overlaps"),
            ("conflicts", "Conflicts"),
            ("correct", "Correct"),
            ("incorrect", "Incorrect"),
            ("emp_accuracy", "Emp. Acc."),
        ]:
            assert row[ours_key] == pytest.approx(ref[ref_key].iloc[j]), ours_key
        assert row["weight"] == pytest.approx(j / 10)
    analysis = LFAnalysis(L.astype(int))
    assert ours["totals"]["coverage"] == pytest.approx(analysis.label_coverage())
    assert ours["totals"]["overlap"] == pytest.approx(analysis.label_overlap())
    assert ours["totals"]["conflict"] == pytest.approx(analysis.label_conflict())


def test_summary_scores_only_rows_with_a_human_label():
    L = np.array([[1, -1], [0, 0], [1, 1]])
    s = lf_summary(L, y=np.array([1, -1, 0]))
    assert [(r["correct"], r["incorrect"]) for r in s["lfs"]] == [(1, 1), (0, 1)]
    assert lf_summary(L)["lfs"][0]["emp_accuracy"] is None
    assert lf_summary(np.full((2, 1), -1), y=np.array([0, 1]))["lfs"][0]["emp_accuracy"] is None
