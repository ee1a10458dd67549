"""Agreement figures reproduce published worked examples, end to end (issue 10).

Each example goes in through ``labeler import-annotations`` (a CSV of
item_id,rater,label) and comes out of ``labeler agreement --json``, so the
database read, the label coding and the report are checked, not only the pure
functions:

- Krippendorff's alpha on Krippendorff's (2011) 4 coders x 12 units with
  missing values: nominal 0.743421; ordinal 0.815388 when the label set is
  ordered (``project create --ordered``);
- Fleiss' kappa on Wikipedia's 10 subjects x 14 raters: 0.209931;
- Cohen's kappa on scikit-learn's own test tables (literal below);
- Dawid-Skene on crowd-kit's toy data (its step-by-step figures and the ground
  truth, also as the project's consensus), and on a simulated crowd of raters of
  accuracy 0.55 to 0.95 it beats majority vote (so does Wawa, less).

The reference data lives in ``../shared/data`` (see its README); tests that need
it skip, saying so, when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Item
from labeler.quality.consensus import METHODS, aggregate, majority_codes
from labeler.quality.raters import dawid_skene
from labeler.services import projects
from labeler.services.quality.consensus import project_consensus
from tests.conftest import SHARED_DATA

AGREEMENT = SHARED_DATA / "agreement"
KRIPP = AGREEMENT / "krippendorff_2011_4coders_12units.json"
FLEISS = AGREEMENT / "fleiss_kappa_wikipedia_10x14.json"
TOY = SHARED_DATA / "crowdkit_toy_ysda_ds.json"


def _needs(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path.is_file(),
        reason=f"{path} is absent (the shared reference data lives next to the repository)",
    )


def _load(runner: Any, tmp_path: Path, name: str, labels: list[str], votes, ordered=False) -> dict:
    """Create a project, import its items and ``votes`` (item, rater, label), return the report."""
    args = ["project", "create", name, "--labels", ",".join(labels)]
    made = runner.invoke(main, args + (["--ordered"] if ordered else []))
    assert made.exit_code == 0, made.output
    items = sorted({str(v[0]) for v in votes})
    (tmp_path / "items.csv").write_text("id,text\n" + "".join(f"{i},item {i}\n" for i in items))
    got = runner.invoke(main, ["import", name, str(tmp_path / "items.csv")])
    assert got.exit_code == 0, got.output
    rows = "".join(f"{i},{r},{lab}\n" for i, r, lab in votes)
    (tmp_path / "votes.csv").write_text("item_id,rater,label\n" + rows)
    got = runner.invoke(main, ["import-annotations", name, str(tmp_path / "votes.csv")])
    assert got.exit_code == 0, got.output
    return _report(runner, name)


def _report(runner: Any, name: str, *extra: str) -> dict:
    got = runner.invoke(main, ["agreement", name, "--json", *extra])
    assert got.exit_code == 0, got.output
    return json.loads(got.output)


@_needs(KRIPP)
def test_krippendorff_alpha_worked_example(runner: Any, tmp_path: Path) -> None:
    data = json.loads(KRIPP.read_text())["reliability_data_coders_x_units"]
    votes = [
        (f"u{u + 1:02d}", f"coder{'ABCD'[c]}", value)
        for c, row in enumerate(data)
        for u, value in enumerate(row)
        if value is not None
    ]
    report = _load(runner, tmp_path, "kripp", ["1", "2", "3", "4", "5"], votes, ordered=True)
    assert report["level"] == "ordinal"
    assert report["krippendorff_alpha"] == pytest.approx(0.815388, abs=1e-6)
    # Unit 12 has one value: counted, in no coefficient.
    assert report["n_items"] == 12 and report["n_items_single"] == 1
    assert report["support"]["krippendorff_alpha"] == 11
    nominal = _report(runner, "kripp", "--level", "nominal", "--dawid-skene", "off")
    assert nominal["krippendorff_alpha"] == pytest.approx(0.743421, abs=1e-6)


@_needs(FLEISS)
def test_fleiss_kappa_worked_example(runner: Any, tmp_path: Path) -> None:
    counts = json.loads(FLEISS.read_text())["counts_subjects_x_categories"]
    votes = []
    for s, row in enumerate(counts):
        labels = [c for c, n in enumerate(row) for _ in range(n)]
        votes += [(f"s{s:02d}", f"r{r:02d}", f"c{lab + 1}") for r, lab in enumerate(labels)]
    report = _load(runner, tmp_path, "fleiss", [f"c{k}" for k in range(1, 6)], votes)
    assert report["fleiss_kappa"] == pytest.approx(0.209931, abs=1e-6)
    assert report["support"]["fleiss_kappa"] == 10
    assert report["support"]["fleiss_raters_per_item"] == 14
    # Fleiss' P-bar is the mean pairwise agreement per item.
    assert report["percent_agreement"] == pytest.approx(0.378022, abs=1e-6)


# scikit-learn's test_cohen_kappa (sklearn/metrics/tests/test_classification.py):
# Artstein and Poesio (2008), tables 1 and 4, with its published figures.
SKLEARN_CASES = [
    ([0] * 40 + [1] * 60, [0] * 20 + [1] * 20 + [0] * 10 + [1] * 50, 0.348, 3),
    ([0] * 46 + [1] * 44 + [2] * 10, [0] * 52 + [1] * 32 + [2] * 16, 0.8013, 4),
    ([0] * 46 + [1] * 44 + [2] * 10, [0] * 50 + [1] * 40 + [2] * 10, 0.9315, 4),
]


@pytest.mark.parametrize(("y1", "y2", "published", "decimals"), SKLEARN_CASES)
def test_cohen_kappa_sklearn_tables(
    runner: Any, tmp_path: Path, y1: list[int], y2: list[int], published: float, decimals: int
) -> None:
    votes = [(f"x{i:03d}", "alice", f"l{a}") for i, a in enumerate(y1)]
    votes += [(f"x{i:03d}", "bob", f"l{b}") for i, b in enumerate(y2)]
    report = _load(runner, tmp_path, "cohen", ["l0", "l1", "l2"], votes)
    kappa = report["cohen_kappa"]["alice|bob"]
    assert kappa == pytest.approx(cohen_kappa_score(y1, y2), abs=1e-6)
    assert round(kappa, decimals) == published
    assert report["support"]["cohen_kappa"]["alice|bob"] == 100


def _toy() -> tuple[list[list[str]], dict[str, Any]]:
    doc = json.loads(TOY.read_text())
    return doc["answers_task_worker_label"], doc


@_needs(TOY)
@pytest.mark.parametrize("n_iter", [0, 1])
def test_dawid_skene_crowdkit_toy_step_by_step(n_iter: int) -> None:
    answers, doc = _toy()
    tasks = sorted({a[0] for a in answers})
    workers = sorted({a[1] for a in answers})
    code = {"no": 0, "yes": 1}
    item = np.array([tasks.index(a[0]) for a in answers])
    rater = np.array([workers.index(a[1]) for a in answers])
    label = np.array([code[a[2]] for a in answers])
    result = dawid_skene(item, rater, label, len(tasks), len(workers), 2, n_iter=n_iter)
    expected = doc["expected_step_by_step_atol_0.005"][f"n_iter_{n_iter}"]
    assert result.priors == pytest.approx(expected["priors_no_yes"], abs=0.005)
    for t, task in enumerate(tasks):
        assert result.proba[t] == pytest.approx(expected["probas_no_yes"][task], abs=0.005)
    for key, (p_no, p_yes) in expected["errors_[worker,observed]->[P|true=no, P|true=yes]"].items():
        worker, observed = key.split(",")
        r, o = workers.index(worker), code[observed]
        assert result.confusion[r, 0, o] == pytest.approx(p_no, abs=0.005)
        assert result.confusion[r, 1, o] == pytest.approx(p_yes, abs=0.005)


@_needs(TOY)
def test_dawid_skene_crowdkit_toy_through_the_cli(runner: Any, tmp_path: Path) -> None:
    answers, doc = _toy()
    report = _load(runner, tmp_path, "toy", ["no", "yes"], [tuple(a) for a in answers])
    assert report["dawid_skene"]["computed"] is True
    # The converged estimate, as the report gives it, is the one the core computes.
    tasks = sorted({a[0] for a in answers})
    workers = sorted({a[1] for a in answers})
    code = {"no": 0, "yes": 1}
    result = dawid_skene(
        np.array([tasks.index(a[0]) for a in answers]),
        np.array([workers.index(a[1]) for a in answers]),
        np.array([code[a[2]] for a in answers]),
        len(tasks),
        len(workers),
        2,
    )
    # Converged DS recovers the ground truth (majority vote ties on t1).
    assert [["no", "yes"][v] for v in result.labels] == [doc["ground_truth"][t] for t in tasks]
    for r, worker in enumerate(workers):
        got = report["per_rater"][worker]["dawid_skene"]["confusion"]
        assert np.asarray(got) == pytest.approx(result.confusion[r], abs=1e-9)
    assert report["dawid_skene"]["priors"] == pytest.approx(result.priors.tolist(), abs=1e-9)
    # The project's consensus by Dawid-Skene is that estimate, with its posterior as confidence;
    # by majority vote t1 is a tie (no label: it would go to adjudication).
    project = projects.find_project("toy")
    ids = dict(db.session.execute(select(Item.external_id, Item.id)).all())
    by_ds = project_consensus(project, "dawid-skene")
    for t, task in enumerate(tasks):
        got = by_ds[ids[task]]
        assert got.label == doc["ground_truth"][task] and got.n_raters == (4 if task == "t1" else 5)
        assert got.confidence == pytest.approx(result.proba[t].max(), abs=1e-9)
    assert project_consensus(project)[ids["t1"]].label is None


def test_dawid_skene_beats_majority_vote_on_a_simulated_crowd() -> None:
    rng = np.random.default_rng(2026)
    n_items, k, per_item = 3000, 3, 3
    accuracies = np.linspace(0.55, 0.95, 9)
    truth = rng.integers(0, k, n_items)
    who = np.argsort(rng.random((n_items, len(accuracies))), axis=1)[:, :per_item]
    item = np.repeat(np.arange(n_items), per_item)
    rater = who.ravel()
    right = rng.random(len(item)) < accuracies[rater]
    label = np.where(right, truth[item], (truth[item] + rng.integers(1, k, len(item))) % k)

    counts = np.zeros((n_items, k), dtype=np.int64)
    np.add.at(counts, (item, label), 1)
    mv = majority_codes(counts)
    # Majority vote gets a fair coin on its ties rather than a certain miss.
    ties = mv < 0
    tied_top = counts[ties] == counts[ties].max(axis=1, keepdims=True)
    mv[ties] = [rng.choice(np.flatnonzero(row)) for row in tied_top]
    mv_acc = float((mv == truth).mean())
    ds = dawid_skene(item, rater, label, n_items, len(accuracies), k)
    ds_acc = float((ds.labels == truth).mean())
    print(f"majority vote {mv_acc:.3f}, Dawid-Skene {ds_acc:.3f}")
    assert ds_acc > mv_acc + 0.01
    assert ds.accuracy == pytest.approx(accuracies, abs=0.06)
    # The consensus methods (one label per item, a tie none: counted as a miss here).
    got = {m: aggregate(m, item, rater, label, n_items, len(accuracies), k) for m in METHODS}
    accuracy = {m: float((c.labels == truth).mean()) for m, c in got.items()}
    print("consensus accuracy, ties as misses:", accuracy)
    assert accuracy["dawid-skene"] > accuracy["mv"] + 0.03
    assert accuracy["wawa"] > accuracy["mv"]
    decided = got["dawid-skene"].labels >= 0
    assert (got["dawid-skene"].labels[decided] == ds.labels[decided]).all()
