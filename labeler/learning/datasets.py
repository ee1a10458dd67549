"""Data for ``labeler simulate``: a CSV file or one of scikit-learn's bundled sets."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labeler.learning.features import TabularFeaturizer, TextFeaturizer

__all__ = ["BUNDLED", "load_table"]

#: ``sklearn:NAME`` sets and how their features are scaled.
BUNDLED = ("digits", "breast_cancer", "iris", "wine")


def _bundled(name: str) -> tuple[NDArray[Any], NDArray[Any]]:
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    if name not in BUNDLED:
        raise ValueError(f"unknown bundled data set {name!r}; choose from {', '.join(BUNDLED)}")
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if name == "digits":
        return X / 16.0, y  # pixels 0..16 -> [0, 1]
    return StandardScaler().fit_transform(X), y


def load_table(
    data: str | Path,
    *,
    label_column: str,
    text_column: str | None = None,
    features: str = "auto",
    cache: str | Path | None = None,
    report: dict[str, Any] | None = None,
) -> tuple[Any, NDArray[np.int64], str]:
    """Features, integer labels and a title for a simulation.

    Parameters
    ----------
    data : str or Path
        ``sklearn:digits`` (or ``breast_cancer``, ``iris``, ``wine``), or a CSV
        file with a header row.
    label_column : str
        The CSV column with the true labels (ignored for bundled sets). Rows
        with an empty label are dropped.
    text_column : str, optional
        Use this column's text as the features; otherwise every other
        column is a feature (numbers standardised, the rest one-hot), and a
        lone column of free text, when nothing else is usable, is the text.
    features : {"auto", "embeddings", "tfidf", "hashing"}, default="auto"
        Text features, with the service's featurizer (``auto``: embeddings,
        else TF-IDF). The texts are featurized once here, for every
        strategy and seed of a simulation.
    cache : str or Path, optional
        Directory caching embeddings across runs (keyed by texts and model).
    report : dict, optional
        Filled with what was used: ``kind`` (``embeddings``, ``tfidf``,
        ``hashing``, ``tabular`` or ``bundled``), ``model``, ``fallback``,
        ``featurize_seconds``...

    Returns
    -------
    X : ndarray or sparse matrix
    y : ndarray of int64
        Label codes (sorted label names -> 0, 1, ...).
    title : str

    Examples
    --------
    >>> X, y, title = load_table("sklearn:iris", label_column="target")
    >>> X.shape, title
    ((150, 4), 'iris')
    """
    text = str(data)
    if text.startswith("sklearn:"):
        name = text.split(":", 1)[1]
        X, y = _bundled(name)
        if report is not None:
            report.update(kind="bundled", model=None, fallback=None)
        return X, np.asarray(y, dtype=np.int64), name
    path = Path(text)
    if not path.is_file():
        raise ValueError(f"{text}: no such file (or use sklearn:{'|'.join(BUNDLED)})")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        if label_column not in fields:
            raise ValueError(f"{path}: no column {label_column!r} (columns: {', '.join(fields)})")
        if text_column is not None and text_column not in fields:
            raise ValueError(f"{path}: no column {text_column!r} (columns: {', '.join(fields)})")
        records = [r for r in reader if (r.get(label_column) or "").strip()]
    if len(records) < 4:
        raise ValueError(f"{path}: {len(records)} labeled rows; a simulation needs more")
    labels = [r[label_column].strip() for r in records]
    names, codes = np.unique(np.asarray(labels), return_inverse=True)
    if names.size < 2:
        raise ValueError(f"{path}: column {label_column!r} has a single label")
    featurizer: Any
    if text_column is not None:
        featurizer = TextFeaturizer(text_field=text_column, method=features, cache_dir=cache)
    else:
        featurizer = TabularFeaturizer(exclude=(label_column, "id"))
    start = time.perf_counter()
    X = featurizer.fit_transform(records)
    if text_column is None and X.shape[1] == 0:
        # Only free text (too many distinct values to one-hot): a lone such column
        # is the text to featurize; with several, the user has to say which.
        free = [f for f in fields if f not in (label_column, "id") and not f.startswith("_")]
        if len(free) != 1:
            raise ValueError(
                f"{path}: no numeric or categorical columns to learn from; name the text "
                f"column with --text-column (one of: {', '.join(free) or 'none'})"
            )
        featurizer = TextFeaturizer(text_field=free[0], method=features, cache_dir=cache)
        X = featurizer.fit_transform(records)
    if report is not None:
        info = (
            featurizer.describe()
            if isinstance(featurizer, TextFeaturizer)
            else {"kind": "tabular", "model": None, "fallback": None}
        )
        report.update(info, featurize_seconds=round(time.perf_counter() - start, 3))
    return X, codes.astype(np.int64), path.stem
