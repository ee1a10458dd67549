"""Apply declarative LFs to whole columns at once: the label matrix ``L``.

Snorkel's ``PandasLFApplier`` calls every LF once per row in Python (about
40 s for 200,000 texts x 20 LFs). Declarative LFs are data, so here each one
is one pass of Apache Arrow's compute kernels over the whole column (RE2 for
patterns, a substring search for plain keywords, one lowercasing per column
shared by every case-insensitive LF) or one NumPy comparison; the result is
the same matrix (``tests/unit/weak/test_apply_matches_snorkel.py`` checks it
with Hypothesis). Arrow's kernels release the GIL, so LFs run on a small
thread pool.

``L`` is ``int8`` (``int16`` when a label index exceeds 127), ``-1`` =
abstain. A column missing from ``columns`` counts as missing everywhere (its
LFs abstain), which is what a field absent from every item means.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labeler.weak.lf import LF, KeywordLF, LookupLF, RegexLF, ThresholdLF

__all__ = ["apply_lfs", "keyword_pattern", "match_spans"]

# Python's Unicode \w is str.isalnum() or "_": letters and numbers in RE2's terms.
_RE2_WORD = r"\pL\pN_"


def _re2_escape(word: str) -> str:
    """Escape ``word`` for RE2: ASCII punctuation and spaces as ``\\x{..}``.

    >>> _re2_escape("c++ x")
    'c\\\\x{2b}\\\\x{2b}\\\\x{20}x'
    """
    return "".join(
        ch if ch.isalnum() or ord(ch) > 127 else "\\x{%x}" % ord(ch)  # noqa: UP031
        for ch in word
    )


def keyword_pattern(words: Sequence[str], whole_word: bool) -> str:
    """The RE2 pattern matching any of ``words`` (already lowercased if need be).

    Whole words use a consumed boundary character instead of ``\\b`` (RE2's
    ``\\b`` is ASCII-only and has no lookarounds); for "is there a match" the
    two are the same.

    >>> keyword_pattern(["my", "it's"], whole_word=False)
    '(?:my|it\\\\x{27}s)'
    >>> keyword_pattern(["my"], whole_word=True)
    '(?:^|[^\\\\pL\\\\pN_])(?:my)(?:[^\\\\pL\\\\pN_]|$)'
    """
    body = "(?:" + "|".join(_re2_escape(w) for w in words) + ")"
    if not whole_word:
        return body
    return f"(?:^|[^{_RE2_WORD}]){body}(?:[^{_RE2_WORD}]|$)"


class _Columns:
    """Arrow views of the input columns, converted once and shared by the LFs."""

    def __init__(self, columns: Mapping[str, Any], n: int) -> None:
        self.columns = columns
        self.n = n
        self._text: dict[str, pa.Array] = {}
        self._lower: dict[str, pa.Array] = {}

    def text(self, field: str) -> pa.Array:
        if field not in self._text:
            values = self.columns.get(field)
            self._text[field] = (
                pa.nulls(self.n, pa.large_string()) if values is None else _to_strings(values)
            )
        return self._text[field]

    def lower(self, field: str) -> pa.Array:
        if field not in self._lower:
            self._lower[field] = pc.utf8_lower(self.text(field))
        return self._lower[field]

    def numbers(self, field: str) -> np.ndarray:
        values = self.columns.get(field)
        if values is None:
            return np.full(self.n, np.nan)
        arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if arr.dtype.kind in "iuf" and arr.ndim == 1:
            return arr.astype(np.float64, copy=False)
        series = pd.Series(list(values), dtype=object)
        series[series.map(lambda v: isinstance(v, bool))] = None
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _to_strings(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and pa.types.is_string(values.type):
        return values.cast(pa.large_string())
    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if v is None or v != v else str(v) for v in values], type=pa.large_string()
        )


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _keyword(cols: _Columns, lf: KeywordLF) -> np.ndarray:
    text = cols.text(lf.field) if lf.case_sensitive else cols.lower(lf.field)
    words = list(lf.words) if lf.case_sensitive else [w.lower() for w in lf.words]
    if lf.mode == "any" and lf.whole_word:
        return _mask(pc.match_substring_regex(text, pattern=keyword_pattern(words, True)))
    parts = [
        pc.match_substring_regex(text, pattern=keyword_pattern([w], True))
        if lf.whole_word
        else pc.match_substring(text, pattern=w)
        for w in words
    ]
    combine = pc.and_ if lf.mode == "all" else pc.or_
    out = parts[0]
    for part in parts[1:]:
        out = combine(out, part)
    return _mask(out)


def _threshold(cols: _Columns, lf: ThresholdLF) -> np.ndarray:
    x = cols.numbers(lf.field)
    with np.errstate(invalid="ignore"):
        hit = {
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
            "==": np.equal,
            "!=": np.not_equal,
        }[lf.op](x, lf.value)
    return np.asarray(hit & ~np.isnan(x), dtype=bool)


def _lookup(cols: _Columns, lf: LookupLF, dtype: type) -> np.ndarray:
    mapping = lf.mapping or {}
    if not mapping:
        return np.full(cols.n, -1, dtype=dtype)
    keys = list(mapping)
    idx = pc.index_in(cols.text(lf.field), value_set=pa.array(keys, type=pa.large_string()))
    pos = np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    table: np.ndarray = np.array([mapping[k] for k in keys] + [-1], dtype=dtype)
    return table[pos]  # -1 indexes the trailing abstain


def _column(cols: _Columns, lf: LF, dtype: type) -> np.ndarray:
    if isinstance(lf, LookupLF):
        return _lookup(cols, lf, dtype)
    if isinstance(lf, KeywordLF):
        hit = _keyword(cols, lf)
    elif isinstance(lf, RegexLF):
        text = cols.text(lf.field)
        hit = _mask(
            pc.match_substring_regex(text, pattern=lf.pattern, ignore_case=not lf.case_sensitive)
        )
    elif isinstance(lf, ThresholdLF):
        hit = _threshold(cols, lf)
    else:
        raise TypeError(f"not a declarative LF: {lf!r}")
    return np.where(hit, lf.label, -1).astype(dtype)


def _n_rows(columns: Mapping[str, Any], n: int | None) -> int:
    if n is not None:
        return n
    for values in columns.values():
        return len(values)
    raise ValueError("n is required when columns is empty")


def _max_label(lfs: Sequence[LF]) -> int:
    top = 0
    for lf in lfs:
        if isinstance(lf, LookupLF):
            top = max([top, *(lf.mapping or {}).values()])
        else:
            top = max(top, lf.label)
    return top


def apply_lfs(
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    lfs: Sequence[LF],
    n: int | None = None,
) -> np.ndarray:
    """The label matrix of ``lfs`` over ``columns`` (field name -> values).

    Parameters
    ----------
    columns : mapping of str to sequence
        One entry per field the LFs read, all of length ``n``.
    lfs : sequence of LF
    n : int, optional
        Number of rows; needed only when ``columns`` is empty.

    Returns
    -------
    np.ndarray
        ``(n, len(lfs))`` of ``int8`` (``int16`` for label indices > 127), -1 = abstain.

    Examples
    --------
    >>> lfs = [KeywordLF("kw", 1, ("check",)), RegexLF("re", 1, r"https?://"),
    ...        ThresholdLF("short", 0, "n", "<", 3)]
    >>> apply_lfs({"text": ["Check it", "see http://x", None], "n": [5, 2, "x"]}, lfs)
    array([[ 1, -1, -1],
           [-1,  1,  0],
           [-1, -1, -1]], dtype=int8)
    """
    n_rows = _n_rows(columns, n)
    dtype: type = np.int8 if _max_label(lfs) <= 127 else np.int16
    L: np.ndarray = np.full((n_rows, len(lfs)), -1, dtype=dtype)
    if not lfs or n_rows == 0:
        return L
    cols = _Columns(columns, n_rows)
    # Convert each column once up front, so the threads do not race to do it.
    for lf in lfs:
        if isinstance(lf, KeywordLF | RegexLF | LookupLF):
            cols.text(lf.field)
            if isinstance(lf, KeywordLF) and not lf.case_sensitive:
                cols.lower(lf.field)
    workers = min(len(lfs), os.cpu_count() or 1, 4)
    if workers <= 1:
        results = [_column(cols, lf, dtype) for lf in lfs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda lf: _column(cols, lf, dtype), lfs))
    for j, col in enumerate(results):
        L[:, j] = col
    return L


def _python_keyword_regex(words: Sequence[str], whole_word: bool) -> str:
    body = "|".join(re.escape(w) for w in words)
    return rf"(?<!\w)(?:{body})(?!\w)" if whole_word else f"(?:{body})"


def match_spans(texts: Sequence[str], lf: KeywordLF | RegexLF) -> list[list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of ``lf``'s matches in each text, for highlighting.

    Meant for a preview sample (a Python loop per text). Keyword spans follow
    the applier's semantics exactly; regex spans come from RE2 itself.

    >>> match_spans(["Check out my channel", None], KeywordLF("kw", 1, ("my", "check")))
    [[(0, 5), (10, 12)], []]
    >>> match_spans(["a1b22"], RegexLF("r", 0, r"[0-9]+"))
    [[(1, 2), (3, 5)]]
    """
    if isinstance(lf, KeywordLF):
        words = list(lf.words) if lf.case_sensitive else [w.lower() for w in lf.words]
        compiled = re.compile(_python_keyword_regex(words, lf.whole_word))
        out: list[list[tuple[int, int]]] = []
        for text in texts:
            if not isinstance(text, str):
                out.append([])
                continue
            hay = text if lf.case_sensitive else text.lower()
            if len(hay) != len(text):  # lowercasing changed lengths: spans would be off
                hay, compiled_here = text, re.compile(compiled.pattern, re.IGNORECASE)
            else:
                compiled_here = compiled
            out.append([m.span() for m in compiled_here.finditer(hay) if m.end() > m.start()])
        return out
    import re2

    options = re2.Options()
    options.case_sensitive = lf.case_sensitive
    rx = re2.compile(lf.pattern, options)
    return [
        [m.span() for m in rx.finditer(t) if m.end() > m.start()] if isinstance(t, str) else []
        for t in texts
    ]
