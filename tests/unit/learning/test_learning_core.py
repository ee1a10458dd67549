"""Features, training, consensus, one round and the simulation loop."""

from __future__ import annotations

import base64
import csv
import io
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from labeler.learning import consensus_labels, cross_validated_scores, make_model, run_round, train
from labeler.learning.datasets import load_table
from labeler.learning.features import (
    ImageFeaturizer,
    TabularFeaturizer,
    TextFeaturizer,
    featurize,
)
from labeler.learning.simulate import (
    CSV_COLUMNS,
    labels_to_reach,
    plot_curves,
    read_csv,
    simulate,
    write_csv,
)
from labeler.sampling import RegionSampler

# ---------------------------------------------------------------- features


def test_text_tfidf_is_sparse_and_fitted_per_project():
    records = [
        {"text": "great movie"},
        {"text": "awful movie"},
        {"text": "great fun", "_gold": "x"},
    ]
    X, f = featurize("text", records, method="tfidf")
    assert sp.issparse(X) and X.format == "csr" and X.shape[0] == 3
    assert "great" in f.vectorizer_.vocabulary_
    again = f.transform([{"text": "great"}])
    assert again.shape[1] == X.shape[1]


def test_text_hashing_and_other_field():
    X, f = featurize("text", [{"body": "a b"}, {"body": "c"}], text_field="body", method="hashing")
    assert X.shape == (2, 2**18) and f.text_field == "body"


def test_text_without_any_words_does_not_crash():
    X, _ = featurize("text", [{"text": ""}, {"text": None}], method="tfidf")
    assert X.shape[0] == 2


def test_unknown_kind_and_method_are_clear_errors():
    with pytest.raises(ValueError, match="unknown project kind 'audio'"):
        featurize("audio", [{}])
    with pytest.raises(ValueError, match="unknown text method"):
        featurize("text", [{"text": "x"}], method="bert")


def test_kind_may_be_an_enum():
    import enum

    class Kind(enum.StrEnum):
        TABULAR = "tabular"

    X, f = featurize(Kind.TABULAR, [{"a": 1}, {"a": 3}])
    assert isinstance(f, TabularFeaturizer) and X.shape == (2, 1)


def test_tabular_scales_numbers_one_hot_encodes_categories():
    records = [
        {"id": "r1", "age": "20", "income": 1000, "city": "Oslo", "_gold": "yes"},
        {"id": "r2", "age": "40", "income": None, "city": "Rome", "_gold": "no"},
        {"id": "r3", "age": "", "income": 3000, "city": None, "_gold": "no"},
    ]
    X, f = featurize("tabular", records)
    names = f.get_feature_names_out().tolist()
    assert names == ["age", "income", "city=<missing>", "city=Oslo", "city=Rome"]
    dense = X.toarray()
    assert np.allclose(dense[:, :2].mean(axis=0), 0.0, atol=1e-6)  # standardised, imputed by mean
    assert dense[2, 0] == pytest.approx(0.0)  # missing age -> the mean
    assert dense[:, 2:].sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    assert "_gold" not in " ".join(names) and "id" not in names
    assert f.transform([{"age": "30", "city": "Paris"}]).shape == (1, 5)  # unseen category ignored


def test_tabular_drops_free_text_columns():
    records = [{"x": i, "note": f"free text {i}"} for i in range(80)]
    _, f = featurize("tabular", records)
    assert f.numeric_ == ["x"] and f.categorical_ == []


def test_image_pixels_flattened_and_scaled():
    records = [{"image": [[0, 16], [8, 4]]}, {"image": [16, 0, 0, 16]}]
    X, f = featurize("image", records, text_field="image")
    assert isinstance(f, ImageFeaturizer) and f.scale_ == 16.0
    assert X.shape == (2, 4) and X.dtype == np.float32
    assert X.max() == 1.0 and X[0, 2] == 0.5


def test_image_png_data_uri():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    plt.imsave(buf, np.eye(4), format="png", cmap="gray")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    X, _ = featurize("image", [{"image": uri}, {"image": uri}])
    assert X.shape[0] == 2 and X.shape[1] >= 16


def test_image_errors_name_the_item():
    with pytest.raises(ValueError, match="item 1: image has 3 pixel values"):
        featurize("image", [{"image": [1, 2, 3, 4]}, {"image": [1, 2, 3]}])
    with pytest.raises(ValueError, match="item 0: cannot read image"):
        featurize("image", [{"image": "/no/such/file.png"}])


def test_featurizers_pickle():
    X, f = featurize("text", [{"text": "a b c"}, {"text": "b c d"}], method="tfidf")
    g = pickle.loads(pickle.dumps(f))
    assert (g.transform([{"text": "a d"}]) != f.transform([{"text": "a d"}])).nnz == 0


def test_text_featurizer_params_follow_sklearn_conventions():
    f = TextFeaturizer(method="hashing", n_features=16)
    assert f.get_params()["n_features"] == 16
    assert not hasattr(f, "vectorizer_")


# ---------------------------------------------------------------- training


def test_make_model_default_and_named():
    assert type(make_model()).__name__ == "LogisticRegression"
    assert make_model("random_forest", random_state=3).random_state == 3
    with pytest.raises(ValueError, match="unknown model 'xgb'"):
        make_model("xgb")


def test_train_needs_two_classes():
    with pytest.raises(ValueError, match="at least two classes"):
        train(np.zeros((3, 1)), [1, 1, 1])


def test_cross_validated_scores_tiny_label_sets():
    X = np.array([[0.0], [1.0], [2.0]])
    out = cross_validated_scores(LogisticRegression(), X, [0, 0, 0])
    assert out["accuracy"] is None and out["reason"] == "fewer than 2 classes labeled"
    out = cross_validated_scores(LogisticRegression(), X, [0, 0, 1])
    assert out["macro_f1"] is None and "class 1" in out["reason"]


def test_cross_validated_scores_uses_at_most_the_smallest_class_count():
    X, y = make_blobs(30, centers=[[0, 0], [5, 5]], random_state=0)
    y = y.copy()
    y[np.flatnonzero(y == 1)[3:]] = 0  # class 1 keeps 3 labels
    out = cross_validated_scores(LogisticRegression(), X, y, cv=5)
    assert out["n_splits"] == 3 and 0.0 <= out["accuracy"] <= 1.0


def test_consensus_labels():
    got = consensus_labels(
        [["a", "a", "b"], ["a", "b"], ["skip", "b"], [], [None, "skip"], [1, 1, 2]]
    )
    assert got == ["a", None, "b", None, None, 1]


# ---------------------------------------------------------------- round


def _blobs():
    X, y = make_blobs(200, centers=[[0, 0], [4, 0], [0, 4]], cluster_std=1.2, random_state=0)
    return X, y


def test_run_round_metrics_and_ranking():
    X, y_true = _blobs()
    y = np.full(200, -1)
    y[:30] = y_true[:30]
    r = run_round(X, y, 10, "margin", random_state=0)
    m = r.metrics
    assert m["n_labels"] == 30 and m["strategy"] == "margin" and m["strategy_used"] == "margin"
    assert m["cold_start"] is False and 0.5 < m["accuracy"] <= 1.0 and 0 < m["macro_f1"] <= 1.0
    assert m["duration_s"] >= 0
    assert r.order[:10].tolist() == r.indices.tolist()
    assert np.isneginf(r.scores[:30]).all() and len(r.order) == 200
    assert r.model is not None and hasattr(r.model, "coef_")


def test_run_round_cold_start_says_why():
    X, y_true = _blobs()
    y = np.full(200, -1)
    y[np.flatnonzero(y_true == 0)[:3]] = 0
    y[np.flatnonzero(y_true == 1)[:3]] = 1
    r = run_round(X, y, 5, "committee", random_state=0, classes=[0, 1, 2])
    assert r.metrics["cold_start"] is True and r.metrics["strategy_used"] == "cluster"
    assert "class 2" in r.metrics["reason"]
    assert r.model is not None  # a model is trained, it just does not drive sampling yet
    r = run_round(X, np.full(200, -1), 5, "margin", random_state=0)
    assert r.model is None and r.metrics["cold_start"] and r.metrics["accuracy"] is None


def test_run_round_region_returns_state_to_keep():
    X, y_true = _blobs()
    y = np.full(200, -1)
    y[:30] = y_true[:30]
    r = run_round(X, y, 10, "region", random_state=1, ids=np.arange(500, 700))
    state = r.info["state"]
    assert isinstance(state, RegionSampler) and state.rounds_ == 1
    assert sum(reg["allocation"] for reg in r.info["regions"]) == 10
    y[r.indices] = y_true[r.indices]
    again = run_round(X, y, 10, "region", random_state=2, state=pickle.loads(pickle.dumps(state)))
    assert again.info["state"].rounds_ == 2


# ---------------------------------------------------------------- simulation


def test_simulate_rows_and_files(tmp_path):
    X, y = _blobs()
    rows = simulate(X, y, ["random", "margin", "region"], budget=40, batch=10, seeds=2)
    assert {r["strategy"] for r in rows} == {"random", "margin", "region"}
    assert sorted({r["n_labels"] for r in rows}) == [10, 20, 30, 40]
    assert len(rows) == 3 * 2 * 4
    # paired by seed: same seed set, so the first point is equal across strategies
    first = {(r["strategy"], r["seed"]): r["accuracy"] for r in rows if r["n_labels"] == 10}
    assert first[("random", 0)] == first[("margin", 0)] == first[("region", 0)]
    path = write_csv(rows, tmp_path / "curve.csv")
    with path.open() as fh:
        assert tuple(next(csv.reader(fh))) == CSV_COLUMNS
    assert len(read_csv(path)) == len(rows)
    png = plot_curves(rows, tmp_path / "curve.png", reference=0.9)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_unknown_strategy():
    with pytest.raises(ValueError, match="unknown strategy 'best'"):
        simulate(np.zeros((10, 1)), np.arange(10) % 2, ["best"], budget=4, batch=2)


def test_labels_to_reach():
    rows = [{"strategy": "s", "n_labels": n, "accuracy": a} for n, a in [(10, 0.5), (20, 0.8)]]
    assert labels_to_reach(rows, "s", 0.7) == 20 and labels_to_reach(rows, "s", 0.9) is None


# ---------------------------------------------------------------- datasets


def test_load_table_bundled_and_csv(tmp_path):
    X, y, title = load_table("sklearn:digits", label_column="x")
    assert X.shape == (1797, 64) and X.max() == 1.0 and title == "digits"
    path = tmp_path / "data.csv"
    path.write_text(
        "a,b,color,label\n1,2,red,yes\n2,3,blue,no\n3,1,red,yes\n4,4,blue,no\n5,5,red,\n"
    )
    X, y, title = load_table(path, label_column="label")
    assert X.shape == (4, 4) and y.tolist() == [1, 0, 1, 0] and title == "data"
    texts = tmp_path / "texts.csv"
    texts.write_text("text,label\ngood,p\nbad,n\ngreat,p\nawful,n\n")
    X, y, _ = load_table(texts, label_column="label", text_column="text", features="tfidf")
    assert sp.issparse(X) and X.shape[0] == 4


def test_load_table_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_table(tmp_path / "missing.csv", label_column="y")
    with pytest.raises(ValueError, match="unknown bundled data set 'mnist'"):
        load_table("sklearn:mnist", label_column="y")
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no column 'label'"):
        load_table(path, label_column="label")
