"""Text features: sentence embeddings by default, TF-IDF or hashing on request.

One featurizer for the service's rounds and for ``labeler simulate``, so a
strategy chosen in simulation was chosen for the features the project uses.

``method="auto"`` (the default, and ``LABELER_TEXT_FEATURES``'s) means
embeddings when the model loads and TF-IDF otherwise. The fallback is logged
once per process and reason (not per round), and the fitted featurizer keeps
it in ``fallback_`` so a caller can show it next to its results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from labeler.learning.embeddings import MODULE, EmbeddingsUnavailable, SentenceEmbedder

__all__ = ["TEXT_METHODS", "TextFeaturizer"]

TEXT_METHODS = ("auto", "embeddings", "tfidf", "hashing")

logger = logging.getLogger(__name__)
_WARNED: set[str] = set()


def _warn_once(reason: str) -> None:
    if reason not in _WARNED:
        _WARNED.add(reason)
        logger.warning(
            "sentence embeddings unavailable, text features fall back to TF-IDF: %s", reason
        )


class TextFeaturizer(TransformerMixin, BaseEstimator):
    """Text field -> sentence embeddings, TF-IDF or hashed counts.

    Parameters
    ----------
    text_field : str, default="text"
    method : {"auto", "embeddings", "tfidf", "hashing"}, default="auto"
        ``auto``: embeddings when the model loads, else TF-IDF (see ``fallback_``).
        ``embeddings`` raises :class:`~labeler.learning.embeddings.EmbeddingsUnavailable`
        instead of falling back.
    max_features : int, default=50_000
        TF-IDF vocabulary cap.
    ngram_range : tuple, default=(1, 2)
    min_df : int, default=1
    n_features : int, default=2**18
        Hashing width.
    batch_size : int, default=64
        Embedding batch size.
    device : str, optional
        Embedding device; default CUDA when available, else CPU.
    embedding_module : str
        The module that carries the embedding model.
    cache_dir : str or Path, optional
        Cache embeddings on disk, keyed by the texts and the model version.

    Attributes
    ----------
    method_ : str
        The method actually used: ``embeddings``, ``tfidf`` or ``hashing``.
    fallback_ : str or None
        Why ``auto`` fell back to TF-IDF, or None.
    vectorizer_ : object

    Examples
    --------
    >>> f = TextFeaturizer(method="tfidf")
    >>> X = f.fit_transform([{"text": "good film"}, {"text": "bad film"}, {"text": None}])
    >>> X.shape[0], X.format, f.method_
    (3, 'csr', 'tfidf')
    >>> round(float(X[2].sum()), 3)
    0.0
    >>> g = TextFeaturizer(embedding_module="no_such_model_module").fit([{"text": "hi"}])
    >>> g.method_, "no_such_model_module" in g.fallback_
    ('tfidf', True)
    """

    def __init__(
        self,
        text_field: str = "text",
        method: str = "auto",
        *,
        max_features: int = 50_000,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 1,
        n_features: int = 2**18,
        batch_size: int = 64,
        device: str | None = None,
        embedding_module: str = MODULE,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.text_field = text_field
        self.method = method
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.n_features = n_features
        self.batch_size = batch_size
        self.device = device
        self.embedding_module = embedding_module
        self.cache_dir = cache_dir

    def _texts(self, records: Sequence[dict[str, Any]]) -> list[str]:
        out = []
        for r in records:
            v = r.get(self.text_field)
            out.append("" if v is None else str(v))
        return out

    def fit(self, records: Sequence[dict[str, Any]], y: Any = None) -> TextFeaturizer:
        if self.method not in TEXT_METHODS:
            raise ValueError(f"unknown text method {self.method!r}; use {', '.join(TEXT_METHODS)}")
        self.fallback_: str | None = None
        method = self.method
        if method in ("auto", "embeddings"):
            embedder = SentenceEmbedder(
                self.batch_size,
                device=self.device,
                module=self.embedding_module,
                cache_dir=self.cache_dir,
            )
            try:
                embedder.load()
            except EmbeddingsUnavailable as exc:
                if method == "embeddings":
                    raise
                self.fallback_ = str(exc)
                _warn_once(self.fallback_)
                method = "tfidf"
            else:
                self.method_ = "embeddings"
                self.vectorizer_: Any = embedder
                return self
        self.method_ = method
        texts = self._texts(records)
        if method == "tfidf":
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.vectorizer_ = TfidfVectorizer(
                max_features=self.max_features,
                ngram_range=self.ngram_range,
                min_df=self.min_df,
                sublinear_tf=True,
                dtype=np.float32,
            )
            try:
                self.vectorizer_.fit(texts)
            except ValueError:  # every text empty or stop words only: no vocabulary
                self.vectorizer_ = None
        else:
            from sklearn.feature_extraction.text import HashingVectorizer

            self.vectorizer_ = HashingVectorizer(
                n_features=self.n_features,
                ngram_range=self.ngram_range,
                alternate_sign=False,
                dtype=np.float32,
            )
        return self

    def transform(self, records: Sequence[dict[str, Any]]) -> Any:
        texts = self._texts(records)
        if self.vectorizer_ is None:
            return sp.csr_matrix((len(texts), 1), dtype=np.float32)
        return self.vectorizer_.transform(texts)

    def describe(self) -> dict[str, Any]:
        """What a fitted featurizer uses: ``kind``, ``model``, ``device``, ``fallback``.

        Examples
        --------
        >>> TextFeaturizer(method="hashing").fit([]).describe()["kind"]
        'hashing'
        """
        out: dict[str, Any] = {
            "kind": self.method_,
            "requested": self.method,
            "model": None,
            "device": None,
            "fallback": self.fallback_,
        }
        if self.method_ == "embeddings":
            emb = self.vectorizer_
            out["model"] = emb.model_name
            out["device"] = emb.device or getattr(emb._model, "device", None)
            out["device"] = str(out["device"]) if out["device"] is not None else None
            out["batch_size"] = emb.batch_size
            out["from_cache"] = emb.last_from_cache
        return out
