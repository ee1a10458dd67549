"""Active learning on human plus confident weak labels (issue 9 item 9), on both backends.

A project with four human labels and a fitted label model over WRENCH votes: with
``train_on_weak`` the round trains on the human labels plus the label model's
confident labels of the other items (more rows; the round records how many weak
labels it used), without it on the four human labels only.
"""

from __future__ import annotations

import io
import json
from typing import Any

from labeler.services import assignment, importing, projects, training
from labeler.services.weak import model as weak_model

# Items 0-19 say "good" (class 0), 20-39 "bad" (class 1); two LFs vote on 0-29.
WRENCH = {
    str(k): {
        "label": int(k >= 20),
        "weak_labels": [int(k >= 20), int(k >= 20) if k % 3 else -1] if k < 30 else [-1, -1],
        "data": {"text": f"{'good fine nice' if k < 20 else 'bad awful poor'} item {k}"},
    }
    for k in range(40)
}


def _setup(make_user: Any, **settings: Any) -> Any:
    rater, _ = make_user("ana")
    project = projects.create_project("weakal", ["pos", "neg"], overlap=1, **settings)
    projects.add_member(project, rater)
    importing.import_file(project, io.BytesIO(json.dumps(WRENCH).encode()), "wrench")
    for ref, label in (("0", "pos"), ("1", "pos"), ("20", "neg"), ("21", "neg")):
        assignment.answer(project, rater, ref, label)
    fitted = weak_model.fit(project, "majority")
    assert fitted.status == "done", fitted.error
    return project


def _round(project: Any) -> Any:
    rnd = training.execute_round(training.request_round(project, "cli", enqueue=False).id)
    assert rnd.status == "done", rnd.error
    return rnd


def test_round_trains_on_confident_weak_labels_when_on(app: Any, make_user: Any) -> None:
    project = _setup(make_user, train_on_weak=True, weak_min_confidence=0.9)
    rnd = _round(project)
    # The label model labels items 0-29 (4 of them have a human label); its majority
    # confidence is 1.0 where both LFs agree and where one votes alone.
    assert rnd.n_labels == 4
    assert rnd.n_weak_labels == 26
    assert rnd.info["n_train"] == 30 and rnd.info["n_weak_labels"] == 26
    assert rnd.info["weighted"] is True
    assert rnd.as_dict()["n_weak_labels"] == 26
    # CV figures stay on the human labels (comparable with human-level performance).
    assert rnd.info["cv_reason"] is not None or rnd.cv_accuracy is not None


def test_round_uses_human_labels_only_when_off(app: Any, make_user: Any) -> None:
    project = _setup(make_user)
    assert project.train_on_weak is False and project.weak_min_confidence == 0.9
    rnd = _round(project)
    assert rnd.n_labels == 4 and rnd.n_weak_labels is None
    assert rnd.info["n_train"] == 4 and rnd.info["n_weak_labels"] == 0


def _expected(project: Any, min_confidence: float) -> int:
    """Label-model labels at least that confident on items without a human label."""
    from sqlalchemy import select

    from labeler.extensions import db
    from labeler.models import Annotation, WeakResult, WeakRun

    run = db.session.scalar(
        select(WeakRun.id).where(WeakRun.project_id == project.id).order_by(WeakRun.id.desc())
    )
    human = select(Annotation.item_id).where(Annotation.project_id == project.id)
    rows = db.session.scalars(
        select(WeakResult.item_id).where(
            WeakResult.run_id == run,
            WeakResult.label >= 0,
            WeakResult.confidence >= min_confidence,
            WeakResult.item_id.not_in(human),
        )
    ).all()
    return len(rows)


def test_min_confidence_filters_weak_labels(app: Any, make_user: Any) -> None:
    # A third LF contradicts the others on every fifth item: the label model (Snorkel,
    # three LFs) is less sure there than where they agree (majority vote is one-hot).
    noisy = {
        k: {**v, "weak_labels": [*v["weak_labels"], 1 - v["label"] if int(k) % 5 == 0 else -1]}
        for k, v in WRENCH.items()
    }
    rater, _ = make_user("ana")
    project = projects.create_project("noisy", ["pos", "neg"], overlap=1, train_on_weak=True)
    projects.add_member(project, rater)
    importing.import_file(project, io.BytesIO(json.dumps(noisy).encode()), "wrench")
    for ref, label in (("1", "pos"), ("2", "pos"), ("21", "neg"), ("22", "neg")):
        assignment.answer(project, rater, ref, label)
    assert weak_model.fit(project, "label_model").status == "done"
    projects.update_project(project, weak_min_confidence=0.5)
    loose = _round(project).n_weak_labels
    projects.update_project(project, weak_min_confidence=0.99)
    strict = _round(project).n_weak_labels
    assert loose == _expected(project, 0.5) and strict == _expected(project, 0.99)
    assert 0 < strict < loose
