"""Python LFs in a child process: Snorkel semantics, errors, time and memory limits."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from labeler.weak.python_lfs import list_python_lfs, run_python_lfs

pytest.importorskip("snorkel.labeling")

SOURCE = textwrap.dedent(
    """
    import os
    from snorkel.labeling import LabelingFunction, labeling_function

    SPAM, HAM, ABSTAIN = 1, 0, -1

    @labeling_function()
    def check_out(x):
        return SPAM if "check out" in x.text.lower() else ABSTAIN

    @labeling_function()
    def boom(x):
        return 1 / 0

    @labeling_function()
    def forever(x):
        while True:
            pass

    @labeling_function()
    def hog(x):
        return len(bytearray(4 * 1024 ** 3))

    @labeling_function()
    def by_name(x):
        return "ham" if len(x.text.split()) < 3 else ABSTAIN

    @labeling_function()
    def out_of_range(x):
        return 7

    @labeling_function()
    def sees_env(x):
        return SPAM if any("LABELER" in k for k in os.environ) else HAM

    def keyword_lookup(x, keywords, label):
        return label if any(w in x.text.lower() for w in keywords) else ABSTAIN

    lfs = [
        LabelingFunction(name=f"keyword_{kw[0]}", f=keyword_lookup,
                         resources=dict(keywords=kw, label=SPAM))
        for kw in (["my"], ["http"])
    ]
    """
)
RECORDS = [{"text": "check out my channel http://x"}, {"text": "nice song"}, {"text": "a b c d"}]


def test_lfs_run_with_snorkel_semantics_and_failures_stay_isolated(monkeypatch):
    monkeypatch.setenv("LABELER_SECRET_KEY", "not for user code")
    res = run_python_lfs(SOURCE, RECORDS, ["ham", "spam"], timeout_s=3, memory_mb=256)
    assert res.names == [
        "check_out",
        "boom",
        "forever",
        "hog",
        "by_name",
        "out_of_range",
        "sees_env",
        "keyword_my",
        "keyword_http",
    ]
    assert set(res.errors) == {"boom", "forever", "hog", "out_of_range"}
    assert res.errors["boom"].startswith("ZeroDivisionError") and "line 13" in res.errors["boom"]
    assert "timed out" in res.errors["forever"]
    assert res.errors["hog"].startswith("MemoryError")
    assert "returned 7" in res.errors["out_of_range"]
    col = {name: res.L[:, j].tolist() for j, name in enumerate(res.names)}
    assert col["check_out"] == [1, -1, -1]
    assert col["by_name"] == [-1, 0, -1]
    assert col["sees_env"] == [0, 0, 0]  # the worker's environment is not passed on
    assert col["keyword_my"] == [1, -1, -1] and col["keyword_http"] == [1, -1, -1]
    for name in res.errors:
        assert col[name] == [-1, -1, -1]
    assert res.L.dtype == np.int8

    from snorkel.labeling import PandasLFApplier

    namespace: dict = {}
    exec(SOURCE, namespace)  # noqa: S102 - the test's own source, to compare with Snorkel
    ref = PandasLFApplier([namespace["check_out"], *namespace["lfs"]]).apply(
        pd.DataFrame(RECORDS), progress_bar=False
    )
    ours = res.L[:, [res.names.index(n) for n in ("check_out", "keyword_my", "keyword_http")]]
    np.testing.assert_array_equal(ours, ref)


def test_a_file_that_does_not_load_is_reported():
    res = run_python_lfs("import no_such_module_xyz\n", RECORDS, ["ham", "spam"], timeout_s=5)
    assert res.names == [] and res.L.shape == (3, 0)
    assert "ModuleNotFoundError" in res.errors["<file>"]


def test_listing_finds_lfs_and_reports_syntax_errors_with_the_line():
    assert list_python_lfs(SOURCE)[:2] == ["check_out", "boom"]
    with pytest.raises(ValueError, match="line 2"):
        list_python_lfs("x = 1\ndef f(:\n    pass\n")
