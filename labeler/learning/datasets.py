"""Tables for ``labeler simulate``: a CSV file or one of scikit-learn's bundled sets."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED = ("digits", "breast_cancer", "iris", "wine")


def load_table(
    source: str, *, label_column: str = "label", text_column: str | None = None
) -> tuple[Any, np.ndarray, str]:
    """Return ``(X, y, title)``.

    ``source`` is ``sklearn:NAME`` (one of :data:`BUNDLED`) or a CSV path. A CSV
    needs ``label_column``; with ``text_column`` that column is TF-IDF'd,
    otherwise every other column must be numeric.

    >>> X, y, title = load_table("sklearn:iris")
    >>> X.shape, title
    ((150, 4), 'iris')
    """
    if source.startswith("sklearn:"):
        name = source.split(":", 1)[1]
        if name not in BUNDLED:
            raise ValueError(f"unknown bundled data set {name!r}; choose from {', '.join(BUNDLED)}")
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{name}")()
        return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target), name
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"no such file: {source}")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or label_column not in reader.fieldnames:
            raise ValueError(f"{source}: no column {label_column!r} (columns: {reader.fieldnames})")
        rows = list(reader)
    y = np.asarray([r[label_column] for r in rows])
    if text_column:
        if text_column not in rows[0]:
            raise ValueError(f"{source}: no column {text_column!r}")
        from sklearn.feature_extraction.text import TfidfVectorizer

        X = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(r[text_column] for r in rows)
        return X, y, path.stem
    columns = [c for c in rows[0] if c != label_column]
    X = np.empty((len(rows), len(columns)))
    for i, r in enumerate(rows):
        for j, c in enumerate(columns):
            try:
                X[i, j] = float(r[c])
            except ValueError:
                raise ValueError(
                    f"{source} line {i + 2}, column {c!r}: {r[c]!r} is not a number "
                    "(use --text-column for text)"
                ) from None
    return X, y, path.stem
