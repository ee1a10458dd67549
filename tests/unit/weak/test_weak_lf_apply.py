"""Declarative LF specs and the applier's non-text kinds."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.weak.apply import apply_lfs, match_spans
from labeler.weak.lf import (
    KeywordLF,
    LFSpecError,
    LookupLF,
    RegexLF,
    ThresholdLF,
    lf_from_spec,
    lf_to_spec,
)

LABELS = ["ham", "spam", "eggs"]

SPECS = [
    {
        "kind": "keyword",
        "name": "kw",
        "label": "spam",
        "words": ["check", "my channel"],
        "mode": "all",
        "case_sensitive": True,
        "whole_word": False,
        "field": "body",
    },
    {
        "kind": "regex",
        "name": "re",
        "label": "ham",
        "pattern": r"https?://",
        "case_sensitive": False,
        "field": "text",
    },
    {"kind": "threshold", "name": "th", "label": "eggs", "field": "n", "op": ">=", "value": 2.5},
    {"kind": "lookup", "name": "lk", "field": "pred", "mapping": {"0": "ham", "yes": "spam"}},
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"])
def test_specs_round_trip(spec):
    lf = lf_from_spec(spec, LABELS)
    assert lf_to_spec(lf, LABELS) == spec
    assert lf_from_spec(lf_to_spec(lf, LABELS), LABELS) == lf


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "python"}, "kind"),
        ({"name": ""}, "name"),
        ({"label": "nope"}, "label"),
        ({"words": "check"}, "words"),
        ({"words": []}, "words"),
        ({"words": ["ok", ""]}, "words"),
        ({"mode": "some"}, "mode"),
        ({"case_sensitive": "yes"}, "case_sensitive"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_keyword_specs_name_the_field(change, field):
    with pytest.raises(LFSpecError) as err:
        lf_from_spec({**SPECS[0], **change}, LABELS)
    assert err.value.field == field


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=x)y", r"(?<!a)b", "(unclosed", ""])
def test_patterns_re2_cannot_run_are_refused(pattern):
    with pytest.raises(LFSpecError) as err:
        lf_from_spec({**SPECS[1], "pattern": pattern}, LABELS)
    assert err.value.field == "pattern"


def test_threshold_and_lookup_specs_are_checked():
    for change, field in [
        ({"op": "=>"}, "op"),
        ({"value": "3"}, "value"),
        ({"value": True}, "value"),
    ]:
        with pytest.raises(LFSpecError) as err:
            lf_from_spec({**SPECS[2], **change}, LABELS)
        assert err.value.field == field
    with pytest.raises(LFSpecError) as err:
        lf_from_spec({**SPECS[3], "mapping": {"1": "unknown"}}, LABELS)
    assert err.value.field == "mapping"


def test_lookup_without_mapping_reads_label_names():
    lf = lf_from_spec({"kind": "lookup", "name": "old", "field": "label_col"}, LABELS)
    L = apply_lfs({"label_col": ["spam", None, "other", "eggs", 1]}, [lf])
    assert L[:, 0].tolist() == [1, -1, -1, 2, -1]


def test_threshold_abstains_on_missing_and_non_numeric():
    lf = ThresholdLF("th", 1, "n", "<", 3)
    L = apply_lfs({"n": [1, "2.5", None, "x", float("nan"), 3, True, 7]}, [lf])
    assert L[:, 0].tolist() == [1, 1, -1, -1, -1, -1, -1, -1]
    assert apply_lfs({"n": np.array([1.0, 5.0])}, [ThresholdLF("t", 0, "n", "!=", 1)])[
        :, 0
    ].tolist() == [-1, 0]


def test_lookup_compares_values_as_text_and_missing_columns_abstain():
    lf = LookupLF("model", "pred", {"1": 1, "0": 0})
    L = apply_lfs({"pred": [1, 0, "1", None, 2]}, [lf, KeywordLF("kw", 1, ("x",), field="absent")])
    assert L.tolist() == [[1, -1], [0, -1], [1, -1], [-1, -1], [-1, -1]]


def test_whole_word_and_case_options():
    texts = ["Subscribe now", "subscribers", "SUBSCRIBE", "pre-subscribe!"]
    cases = {
        (True, False): [1, -1, 1, 1],
        (False, False): [1, 1, 1, 1],
        (True, True): [-1, -1, -1, 1],
        (False, True): [-1, 1, -1, 1],
    }
    for (whole, cs), expected in cases.items():
        lf = KeywordLF("kw", 1, ("subscribe",), whole_word=whole, case_sensitive=cs)
        assert apply_lfs({"text": texts}, [lf])[:, 0].tolist() == expected, (whole, cs)


def test_all_mode_needs_every_word():
    lf = KeywordLF("kw", 0, ("check", "out"), mode="all")
    assert apply_lfs({"text": ["check it out", "check", "out"]}, [lf])[:, 0].tolist() == [0, -1, -1]


def test_large_label_indices_widen_the_dtype():
    L = apply_lfs({"text": ["a"]}, [KeywordLF("kw", 200, ("a",))])
    assert L.dtype == np.int16 and L[0, 0] == 200
    assert apply_lfs({}, [], n=3).shape == (3, 0)


def test_match_spans_follow_the_lf():
    kw = KeywordLF("kw", 1, ("my", "check out"))
    assert match_spans(["Check out MY channel, mystery", "", None], kw) == [
        [(0, 9), (10, 12)],
        [],
        [],
    ]
    rx = RegexLF("re", 1, r"https?://\S+", case_sensitive=False)
    assert match_spans(["see HTTP://a.b and http://c"], rx) == [[(4, 14), (19, 27)]]
