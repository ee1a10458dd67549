r"""The vectorized applier gives exactly Snorkel's ``PandasLFApplier`` matrix.

Hypothesis draws texts and keyword / regex LFs; each LF is also written the
way Snorkel users write it (``word in x.text.lower()``, ``re.search``) and
both matrices must be identical. Texts avoid the few characters whose
lowercase differs between Unicode's simple mapping and Python's ``str.lower``
(U+0130, the Greek capital sigma's final form, letters newer than Unicode 15:
documented in ``labeler.weak.lf``) and line breaks (RE2's ``$`` is the end of
the text only, Python's also matches before a final newline). Patterns avoid
``\w``, ``\s``, ``\d`` and ``\b``: RE2's are ASCII-only, Python's Unicode (also
documented; whole-word keyword LFs are Unicode-aware).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeler.weak.apply import apply_lfs
from labeler.weak.lf import KeywordLF, RegexLF

snorkel_labeling = pytest.importorskip("snorkel.labeling")
LabelingFunction = snorkel_labeling.LabelingFunction
PandasLFApplier = snorkel_labeling.PandasLFApplier

ALPHABET = "abcdeiklmnosty ABCKMSY_.,!'-+0123456789éÉßÅåΩωдД\t"
WORDS = ["a", "my", "check", "check out", "Sub", "s", "é", "ß", "it's", "c++", "Ωω", "12", "-", " "]
PATTERNS = [
    r"check.*out",
    r"https?://\S+",
    r"(?:^|[^a-z])my(?:[^a-z]|$)",
    r"[0-9]{2,}",
    r"^a",
    r"k$",
    r"(?:sub|s)s",
    r"é+",
    r"[a-z0-9_]+[ \t][a-z0-9_]+",
    r"Ω.",
    r"[^a-z ]",
]


def _snorkel_keyword(lf: KeywordLF):
    words = list(lf.words) if lf.case_sensitive else [w.lower() for w in lf.words]
    if lf.whole_word:
        rxs = [re.compile(rf"(?<!\w){re.escape(w)}(?!\w)") for w in words]

        def hit(text: str, w_rx) -> bool:
            return w_rx.search(text) is not None
    else:
        rxs = words

        def hit(text: str, w: str) -> bool:  # type: ignore[misc]
            return w in text

    combine = all if lf.mode == "all" else any

    def f(x):
        text = x.text if lf.case_sensitive else x.text.lower()
        return lf.label if combine(hit(text, r) for r in rxs) else -1

    return LabelingFunction(name=lf.name, f=f)


def _snorkel_regex(lf: RegexLF):
    flags = 0 if lf.case_sensitive else re.IGNORECASE

    def f(x):
        return lf.label if re.search(lf.pattern, x.text, flags=flags) else -1

    return LabelingFunction(name=lf.name, f=f)


keyword_lfs = st.builds(
    lambda words, label, mode, cs, ww: KeywordLF("kw", label, tuple(words), mode, cs, ww),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    st.integers(0, 2),
    st.sampled_from(["any", "all"]),
    st.booleans(),
    st.booleans(),
)
regex_lfs = st.builds(
    lambda p, label, cs: RegexLF("re", label, p, cs),
    st.sampled_from(PATTERNS),
    st.integers(0, 2),
    st.booleans(),
)
texts = st.lists(st.text(alphabet=ALPHABET, max_size=40), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=texts, lfs=st.lists(st.one_of(keyword_lfs, regex_lfs), min_size=1, max_size=4))
def test_vectorized_matrix_equals_pandas_lf_applier(texts, lfs):
    lfs = [type(lf)(**{**lf.__dict__, "name": f"lf{j}"}) for j, lf in enumerate(lfs)]
    snorkel_lfs = [
        _snorkel_keyword(lf) if isinstance(lf, KeywordLF) else _snorkel_regex(lf) for lf in lfs
    ]
    expected = PandasLFApplier(snorkel_lfs).apply(pd.DataFrame({"text": texts}), progress_bar=False)
    got = apply_lfs({"text": texts}, lfs)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, expected)


def test_known_difference_is_only_the_documented_lowercasing():
    # Python lowercases U+0130 to two characters; Unicode's simple mapping to one.
    lf = KeywordLF("kw", 1, ("i̇",), whole_word=False)
    assert apply_lfs({"text": ["İ"]}, [lf])[0, 0] == -1
    assert "i̇" in "İ".lower()
