"""Feature matrices from item records, per project kind.

Records are the items' ``data`` dicts. Fields whose name starts with ``_``
(such as a hidden ``_gold`` answer) are never features.

- ``text``: sentence embeddings by default, falling back to TF-IDF when the
  model cannot load; TF-IDF (sparse CSR, fitted per project) or hashing (no
  vocabulary to keep) on request. See :mod:`labeler.learning.text_features`.
- ``tabular``: numeric fields (numbers, or strings that all parse as numbers)
  standardised, with missing values imputed by the mean; other fields
  one-hot encoded (``DictVectorizer``), missing ones as ``"<missing>"``.
- ``image``: pixel arrays flattened and scaled to ``[0, 1]``; an image is a
  list of numbers (flat or rows), a ``data:image/...;base64`` URI or a path
  to a local PNG file. All images of a project must have the same size.

Every featurizer has ``fit``/``transform``/``fit_transform`` with learned state
ending in ``_``, so the fitted one can be pickled and reused on new items.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin

from labeler.learning.text_features import TextFeaturizer

__all__ = [
    "TextFeaturizer",
    "TabularFeaturizer",
    "ImageFeaturizer",
    "make_featurizer",
    "featurize",
]

MISSING = "<missing>"


def _kind_name(kind: Any) -> str:
    return str(getattr(kind, "value", kind)).lower()


def _as_number(v: Any) -> float | None:
    """A float for numbers and numeric strings; None for missing; NaN for anything else."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return None if isinstance(v, float) and math.isnan(v) else float(v)
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return math.nan
        return None if math.isnan(f) else f
    return math.nan


class TabularFeaturizer(TransformerMixin, BaseEstimator):
    """Records of fields -> standardised numbers and one-hot categories.

    Parameters
    ----------
    exclude : sequence of str, default=("id",)
        Fields never used (the label column belongs here). Fields starting
        with ``_`` are always left out.
    max_categories : int, default=50
        A text field with more distinct values than this (free text, ids) is
        dropped rather than one-hot encoded into a column per value.

    Attributes
    ----------
    numeric_ : list of str
    categorical_ : list of str
    mean_, scale_ : ndarray
    vectorizer_ : DictVectorizer

    Examples
    --------
    >>> recs = [{"age": "30", "city": "Oslo"}, {"age": 50, "city": "Rome"}, {"age": None}]
    >>> f = TabularFeaturizer()
    >>> X = f.fit_transform(recs)
    >>> f.numeric_, f.categorical_
    (['age'], ['city'])
    >>> f.get_feature_names_out().tolist()
    ['age', 'city=<missing>', 'city=Oslo', 'city=Rome']
    >>> [round(float(v), 2) for v in X.toarray()[0]]
    [-1.22, 0.0, 1.0, 0.0]
    """

    def __init__(self, exclude: Sequence[str] = ("id",), max_categories: int = 50) -> None:
        self.exclude = exclude
        self.max_categories = max_categories

    def _fields(self, records: Sequence[dict[str, Any]]) -> list[str]:
        skip = set(self.exclude)
        seen: dict[str, None] = {}
        for r in records:
            for k in r:
                if k not in skip and not str(k).startswith("_"):
                    seen.setdefault(k, None)
        return list(seen)

    def fit(self, records: Sequence[dict[str, Any]], y: Any = None) -> TabularFeaturizer:
        from sklearn.feature_extraction import DictVectorizer

        numeric, categorical = [], []
        sums: dict[str, float] = {}
        for field in self._fields(records):
            values = [_as_number(r.get(field)) for r in records]
            present = [v for v in values if v is not None]
            if present and not any(math.isnan(v) for v in present):
                numeric.append(field)
                arr = np.asarray(present)
                sums[field] = float(arr.mean())
            else:
                distinct = {str(r.get(field)) for r in records if r.get(field) is not None}
                if len(distinct) <= self.max_categories:
                    categorical.append(field)
        self.numeric_ = numeric
        self.categorical_ = categorical
        num = self._numeric_matrix(records, np.array([sums[f] for f in numeric]))
        self.mean_ = num.mean(axis=0) if num.size else np.zeros(len(numeric))
        std = num.std(axis=0) if num.size else np.ones(len(numeric))
        self.scale_ = np.where(std > 0, std, 1.0)
        self.vectorizer_ = DictVectorizer(dtype=np.float32, sparse=True)
        self.vectorizer_.fit(self._categorical_dicts(records) or [{}])
        return self

    def _numeric_matrix(
        self, records: Sequence[dict[str, Any]], fill: NDArray[Any]
    ) -> NDArray[Any]:
        out = np.empty((len(records), len(self.numeric_)), dtype=np.float64)
        for j, field in enumerate(self.numeric_):
            for i, r in enumerate(records):
                v = _as_number(r.get(field))
                out[i, j] = fill[j] if v is None or math.isnan(v) else v
        return out

    def _categorical_dicts(self, records: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
        return [
            {f: (MISSING if r.get(f) in (None, "") else str(r.get(f))) for f in self.categorical_}
            for r in records
        ]

    def transform(self, records: Sequence[dict[str, Any]]) -> sp.csr_matrix:
        num = (self._numeric_matrix(records, self.mean_) - self.mean_) / self.scale_
        cat = self.vectorizer_.transform(self._categorical_dicts(records))
        return sp.hstack([sp.csr_matrix(num.astype(np.float32)), cat], format="csr")

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[Any]:
        cats = list(self.vectorizer_.get_feature_names_out()) if self.categorical_ else []
        return np.asarray(list(self.numeric_) + cats, dtype=object)


def _decode_image(value: Any, field: str, index: int) -> NDArray[Any]:
    if isinstance(value, list | tuple | np.ndarray):
        arr = np.asarray(value, dtype=np.float32)
        if arr.size == 0 or not np.isfinite(arr).all():
            raise ValueError(f"item {index}: {field!r} holds no usable pixel values")
        return arr
    if isinstance(value, str):
        import matplotlib.image as mpimg

        if value.startswith("data:"):
            try:
                payload = base64.b64decode(value.split(",", 1)[1])
            except (IndexError, ValueError) as exc:
                raise ValueError(f"item {index}: {field!r} is not a valid data URI") from exc
            return np.asarray(mpimg.imread(io.BytesIO(payload), format="png"), dtype=np.float32)
        try:
            return np.asarray(mpimg.imread(value), dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"item {index}: cannot read image {value[:80]!r} from {field!r} "
                "(pixel lists, PNG data URIs and local PNG files are supported)"
            ) from exc
    raise ValueError(f"item {index}: {field!r} must be pixel values, a data URI or a path")


class ImageFeaturizer(TransformerMixin, BaseEstimator):
    """Images -> flattened pixels scaled to ``[0, 1]``.

    Parameters
    ----------
    image_field : str, default="image"
    scale : float or None
        Divide pixels by this; None learns it as the largest pixel value seen
        (255 for 8-bit images, 16 for scikit-learn's digits).

    Examples
    --------
    >>> f = ImageFeaturizer()
    >>> X = f.fit_transform([{"image": [[0, 8], [16, 4]]}, {"image": [16, 16, 0, 0]}])
    >>> X.tolist()
    [[0.0, 0.5, 1.0, 0.25], [1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, image_field: str = "image", scale: float | None = None) -> None:
        self.image_field = image_field
        self.scale = scale

    def _pixels(self, records: Sequence[dict[str, Any]]) -> NDArray[np.float32]:
        rows = []
        size = None
        for i, r in enumerate(records):
            img = _decode_image(r.get(self.image_field), self.image_field, i).ravel()
            if size is None:
                size = img.size
            elif img.size != size:
                raise ValueError(
                    f"item {i}: image has {img.size} pixel values, earlier ones {size}; "
                    "all images of a project must have the same size"
                )
            rows.append(img)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)

    def fit(self, records: Sequence[dict[str, Any]], y: Any = None) -> ImageFeaturizer:
        X = self._pixels(records)
        if self.scale is not None:
            self.scale_ = float(self.scale)
        else:
            top = float(X.max()) if X.size else 1.0
            self.scale_ = top if top > 0 else 1.0
        self.n_features_in_ = int(X.shape[1]) if X.ndim == 2 else 0
        return self

    def transform(self, records: Sequence[dict[str, Any]]) -> NDArray[np.float32]:
        X = self._pixels(records)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"images have {X.shape[1]} pixels, expected {self.n_features_in_}")
        return np.clip(X / self.scale_, 0.0, None).astype(np.float32)


def make_featurizer(kind: Any, *, text_field: str = "text", **params: Any) -> BaseEstimator:
    """An unfitted featurizer for a project kind (``text``, ``tabular`` or ``image``).

    Text defaults to ``method="auto"`` (embeddings, else TF-IDF); the service
    passes ``LABELER_TEXT_FEATURES`` and ``labeler simulate`` its ``--features``.

    Examples
    --------
    >>> make_featurizer("text", method="hashing")
    TextFeaturizer(method='hashing')
    """
    name = _kind_name(kind)
    if name == "text":
        return TextFeaturizer(text_field=text_field, **params)
    if name == "tabular":
        return TabularFeaturizer(**params)
    if name == "image":
        field = text_field if text_field and text_field != "text" else "image"
        return ImageFeaturizer(image_field=field, **params)
    raise ValueError(f"unknown project kind {name!r}; expected text, tabular or image")


def featurize(
    kind: Any, records: Sequence[dict[str, Any]], text_field: str = "text", **params: Any
) -> tuple[Any, BaseEstimator]:
    """Fit the kind's featurizer on ``records`` and return ``(X, featurizer)``.

    Parameters
    ----------
    kind : {"text", "tabular", "image"} or ProjectKind
    records : list of dict
        The items' data.
    text_field : str
        The field holding the text (or, for images, the pixels).
    **params
        Featurizer options, e.g. ``method="hashing"`` for text (default
        ``"auto"``: embeddings when the model loads, else TF-IDF).

    Examples
    --------
    >>> X, f = featurize("text", [{"text": "a good day"}, {"text": "a bad day"}], method="tfidf")
    >>> X.shape[0], type(f).__name__, f.method_
    (2, 'TextFeaturizer', 'tfidf')
    >>> X, _ = featurize("image", [{"image": [0, 16]}, {"image": [8, 8]}], text_field="image")
    >>> X.tolist()
    [[0.0, 1.0], [0.5, 0.5]]
    """
    featurizer = make_featurizer(kind, text_field=text_field, **params)
    X = featurizer.fit_transform(list(records))
    return X, featurizer
