"""Label propagation against scikit-learn's LabelSpreading; LF suggestions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.semi_supervised import LabelSpreading

from labeler.weak import propagate as prop
from labeler.weak.lf import lf_from_spec
from labeler.weak.suggest import suggest_lfs


def _blobs(n=600, k=3, d=8, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * 4
    y = rng.integers(0, k, n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y


def test_graph_is_symmetric_with_cosine_weights():
    X, _ = _blobs(n=400)
    G = prop.knn_graph(X, k=5)
    assert (abs(G - G.T) > 1e-6).nnz == 0
    assert G.diagonal().max() == 0 and G.data.max() <= 1.0 and G.data.min() > 0
    assert (np.diff(G.indptr) >= 5).all()


def test_propagation_agrees_with_label_spreading():
    X, y = _blobs()
    rng = np.random.default_rng(1)
    seeds = np.where(rng.random(len(y)) < 0.05, y, -1)
    labels, conf = prop.propagate(X, seeds, 3, k=10)
    ref = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.2).fit(X, seeds).transduction_
    unlabeled = seeds == -1
    assert (labels[unlabeled] == y[unlabeled]).mean() > 0.95
    assert (labels == ref).mean() > 0.95
    assert ((conf > 0) & (conf <= 1)).all()


def test_unreachable_rows_get_no_label():
    X = np.array([[1, 0], [0.9, 0.1], [-1, 0], [-0.9, -0.1]], dtype=np.float32)
    labels, conf = prop.propagate(X, np.array([1, -1, -1, -1]), 2, k=1)
    assert labels.tolist() == [1, 1, -1, -1]
    assert conf[2:].tolist() == [0, 0]
    with pytest.raises(ValueError):
        prop.propagate(None, np.array([0, -1]), 2, graph=prop.knn_graph(X, k=1))


def test_suggestions_are_precise_cover_the_pool_and_are_valid_specs():
    spam = ["check out my channel {}", "subscribe to my channel {}", "free gift card {}"]
    ham = ["love this song {}", "great video {}", "song of the year {}"]
    texts, y = [], []
    for i in range(10):
        for t in spam:
            texts.append(t.format(i))
            y.append(1)
        for t in ham:
            texts.append(t.format(i))
            y.append(0)
    texts += ["my channel rocks", "this song", "what a song", "gift for you"]
    y += [-1, -1, -1, -1]
    y = np.array(y)
    found = suggest_lfs(
        texts,
        y,
        ["ham", "spam"],
        top=50,
        exclude=[{"kind": "keyword", "label": "ham", "words": ["Song"]}],
    )
    assert found
    words = {s.spec["words"][0]: s for s in found}
    assert "my channel" in words and words["my channel"].spec["label"] == "spam"
    assert "song" not in words  # excluded: an LF already votes it
    for s in found:
        assert s.precision >= 0.9 and s.support >= 5 and s.coverage > 0
        lf_from_spec(s.spec, ["ham", "spam"])
    assert found == sorted(found, key=lambda s: (-s.coverage, -s.precision, s.spec["words"][0]))
    assert suggest_lfs(texts, np.full(len(texts), -1), ["ham", "spam"]) == []
