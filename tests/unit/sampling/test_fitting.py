"""Fitting on the used columns of a wide sparse matrix gives the same logistic regression."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB

from labeler.sampling.committee import Committee
from labeler.sampling.fitting import compactable, fit_estimator


def _wide(n_rows=60, n_cols=5000, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_rows, n_cols, density=0.002, format="csr", random_state=seed, dtype=np.float64)
    y = rng.integers(0, 3, n_rows)
    # make the classes learnable through a few shared columns
    X = sp.hstack([X, sp.csr_matrix(np.eye(3)[y])], format="csr")
    return X, y


def test_compact_fit_matches_a_plain_fit_on_all_columns():
    X, y = _wide()
    fast = fit_estimator(LogisticRegression(max_iter=1000, random_state=0), X, y)
    plain = LogisticRegression(max_iter=1000, random_state=0).fit(X, y)
    assert type(fast) is LogisticRegression
    assert fast.coef_.shape == plain.coef_.shape == (3, X.shape[1])
    assert fast.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(fast.coef_, plain.coef_, atol=1e-8)
    np.testing.assert_allclose(fast.intercept_, plain.intercept_, atol=1e-8)
    np.testing.assert_allclose(fast.predict_proba(X), plain.predict_proba(X), atol=1e-8)
    unused = np.setdiff1d(np.arange(X.shape[1]), np.unique(X.indices))
    assert unused.size > 0 and not fast.coef_[:, unused].any()


def test_only_plain_l2_lbfgs_logistic_regression_is_compacted():
    assert compactable(LogisticRegression())
    assert not compactable(LogisticRegression(solver="liblinear"))
    assert not compactable(LogisticRegression(warm_start=True))
    assert not compactable(ComplementNB())
    X, y = _wide()
    nb = fit_estimator(ComplementNB(), X, y)
    assert nb.feature_count_.shape[1] == X.shape[1]


def test_committee_members_are_full_width_after_a_compact_fit():
    X, y = _wide()
    c = Committee(LogisticRegression(max_iter=1000), n_members=3, random_state=0).fit(X, y)
    assert all(m.coef_.shape == (3, X.shape[1]) for m in c.estimators_)
    assert c.disagreement(X).shape == (X.shape[0],)
