"""Suggest keyword LFs mined from the human consensus labels.

Candidates are the words and n-grams (up to ``max_ngram`` tokens) of the
labeled texts, counted per label with one sparse product; those whose best
label holds on at least ``min_precision`` of at least ``min_support`` labeled
items, and that occur in the unlabeled pool, are then re-scored with the LF
they would become (a whole-word, case-insensitive :class:`KeywordLF` run by
the real applier), so the figures shown are the LF's own, not the
tokenizer's. Ranked by the unlabeled items they would label (coverage),
then precision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from labeler.weak.apply import apply_lfs
from labeler.weak.lf import KeywordLF

__all__ = ["Suggestion", "suggest_lfs"]

SHORTLIST = 5  # candidates re-scored per suggestion asked for


@dataclass
class Suggestion:
    """A keyword LF spec (label by name) and its figures.

    ``precision`` and ``support`` on the labeled items it matches; ``coverage``:
    the fraction of the unlabeled items it matches.
    """

    spec: dict[str, Any]
    precision: float
    support: int
    coverage: float


def _name(label: str, gram: str) -> str:
    slug = re.sub(r"\W+", "_", gram.lower()).strip("_") or "kw"
    return f"kw_{re.sub(r'[^A-Za-z0-9_]+', '_', label)}_{slug}"[:100]


def _excluded(exclude: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    out = set()
    for spec in exclude:
        if spec.get("kind") == "keyword":
            for word in spec.get("words") or ():
                if isinstance(word, str):
                    out.add((str(spec.get("label")), word.lower()))
    return out


def suggest_lfs(
    texts: Sequence[str],
    y: np.ndarray,
    labels: Sequence[str],
    min_precision: float = 0.9,
    min_support: int = 5,
    max_ngram: int = 2,
    top: int = 20,
    exclude: Sequence[dict[str, Any]] = (),
) -> list[Suggestion]:
    """Keyword LFs with high precision on the labeled items and coverage on the rest.

    Parameters
    ----------
    texts : sequence of str
        All items' texts, labeled and unlabeled.
    y : (n,) array of int
        Consensus label index, -1 for unlabeled items.
    labels : sequence of str
        Label names (``y``'s indices point into them).
    min_precision, min_support : the bar on the labeled items.
    max_ngram : longest n-gram, in tokens.
    top : at most this many suggestions.
    exclude : specs of existing LFs; their (label, word) pairs are not suggested again.

    Examples
    --------
    >>> texts = ["check out my channel"] * 5 + ["great song"] * 5 + ["check out this", "song"]
    >>> y = np.array([1] * 5 + [0] * 5 + [-1, -1])
    >>> [(s.spec["words"], s.spec["label"], s.precision, s.support, s.coverage)
    ...  for s in suggest_lfs(texts, y, ["ham", "spam"], top=3)]
    [(['check'], 'spam', 1.0, 5, 0.5), (['check out'], 'spam', 1.0, 5, 0.5), (['out'], 'spam', 1.0, 5, 0.5)]
    """
    y = np.asarray(y)
    texts = ["" if t is None else str(t) for t in texts]
    labeled = np.flatnonzero(y >= 0)
    pool = np.flatnonzero(y < 0)
    if len(labeled) < min_support or len(pool) == 0:
        return []
    vec = CountVectorizer(
        ngram_range=(1, max_ngram), binary=True, lowercase=True, min_df=min_support
    )
    try:
        X_lab = vec.fit_transform([texts[i] for i in labeled])
    except ValueError:  # no term reaches min_df
        return []
    vocab = vec.get_feature_names_out()
    k = len(labels)
    Y = sp.csr_matrix(
        (np.ones(len(labeled)), (y[labeled], np.arange(len(labeled)))), shape=(k, len(labeled))
    )
    per_label = np.asarray((Y @ X_lab).todense())  # (k, n_terms) labeled docs containing it
    support = per_label.sum(axis=0)
    best = per_label.argmax(axis=0)
    precision = per_label.max(axis=0) / np.maximum(support, 1)
    X_pool = vec.transform([texts[i] for i in pool])
    pool_cov = np.asarray(X_pool.sum(axis=0)).ravel() / len(pool)
    skip = _excluded(exclude)
    ok = (support >= min_support) & (precision >= min_precision) & (pool_cov > 0)
    order = sorted(np.flatnonzero(ok), key=lambda j: (-pool_cov[j], -precision[j], vocab[j]))
    shortlist = [j for j in order if (labels[best[j]], str(vocab[j])) not in skip][
        : max(top, 1) * SHORTLIST
    ]
    if not shortlist:
        return []
    lfs = [KeywordLF(f"s{j}", int(best[j]), (str(vocab[j]),)) for j in shortlist]
    L = apply_lfs({"text": texts}, lfs)
    out: list[Suggestion] = []
    for col, j in enumerate(shortlist):
        hit = L[:, col] >= 0
        lab_hit = hit[labeled]
        n_lab = int(lab_hit.sum())
        prec = float((y[labeled][lab_hit] == best[j]).sum()) / n_lab if n_lab else 0.0
        cov = float(hit[pool].mean())
        if n_lab < min_support or prec < min_precision or cov == 0:
            continue
        label = labels[best[j]]
        spec = {
            "kind": "keyword",
            "name": _name(label, str(vocab[j])),
            "label": label,
            "words": [str(vocab[j])],
            "mode": "any",
            "case_sensitive": False,
            "whole_word": True,
            "field": "text",
        }
        out.append(Suggestion(spec=spec, precision=prec, support=n_lab, coverage=cov))
    out.sort(key=lambda s: (-s.coverage, -s.precision, s.spec["words"][0]))
    return out[:top]
