"""The agreement report through the API, the CLI and the services, on both backends (issue 10).

What is checked: the output shape (DESIGN.md's names, validated by the declared
model), who may read it, the slices (a class, raters, a date range), the rater
figures that come from answers other than labels (skips, unsure, durations),
the model next to human-level performance, and bad queries refused with the
field named.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from labeler.cli import main
from labeler.extensions import db
from labeler.models import Annotation, TrainingRound
from labeler.services import assignment, projects, quality
from labeler.web.schemas_quality import Agreement
from tests.factories import gen_items

# item -> (ana, ben, cy): three raters, five items; i4 has one answer.
ANSWERS = {
    "i0": ("pos", "pos", "pos"),
    "i1": ("pos", "neg", "pos"),
    "i2": ("neg", "neg", "neg"),
    "i3": ("neg", "pos", None),
    "i4": ("pos", None, None),
}


@pytest.fixture
def setup(app: Any, make_user: Any) -> dict[str, Any]:
    project = projects.create_project("quality", ["pos", "neg"], overlap=3)
    gen_items(project, 6)
    people = {}
    for name in ("ana", "ben", "cy"):
        user, token = make_user(name)
        projects.add_member(project, user)
        people[name] = (user, token)
    for ref, labels in ANSWERS.items():
        for (user, _), label in zip(people.values(), labels, strict=True):
            if label is not None:
                assignment.answer(project, user, ref, label, duration_ms=1000 + 100 * user.id)
    # cy skipped i4 and was unsure about i5.
    assignment.answer(project, people["cy"][0], "i4", None, kind="skip", duration_ms=50)
    assignment.answer(project, people["cy"][0], "i5", None, kind="unsure", duration_ms=70)
    eng, eng_token = make_user("eve", "engineer")
    projects.add_member(project, eng)
    return {"project": project, "people": people, "eng": eng_token}


def _get(client: Any, pid: int, token: str, query: str = "") -> Any:
    return client.get(
        f"/api/v1/projects/{pid}/agreement{query}", headers={"Authorization": f"Bearer {token}"}
    )


def test_report_shape_and_figures(client: Any, setup: dict[str, Any]) -> None:
    pid = setup["project"].id
    resp = _get(client, pid, setup["eng"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    Agreement.model_validate(body)
    # DESIGN.md's names.
    for key in ("krippendorff_alpha", "fleiss_kappa", "percent_agreement", "cohen_kappa"):
        assert key in body
    assert body["n_items"] == 5 and body["n_annotations"] == 12 and body["n_items_single"] == 1
    assert body["n_answers"] == 14
    # Pairs: i0 3 agree, i1 1 of 3, i2 3 of 3 (3 raters); i3 disagree (2 raters).
    assert body["percent_agreement"] == pytest.approx((1 + 1 / 3 + 1 + 0) / 4)
    assert body["support"]["percent_agreement"] == 4
    assert body["support"]["fleiss_kappa"] == 3
    assert body["support"]["fleiss_raters_per_item"] == 3
    assert set(body["cohen_kappa"]) == {"ana|ben", "ana|cy", "ben|cy"}
    assert body["support"]["cohen_kappa"] == {"ana|ben": 4, "ana|cy": 3, "ben|cy": 3}
    # ana and cy agree on all three shared items.
    assert body["cohen_kappa"]["ana|cy"] == pytest.approx(1.0)
    cy = body["per_rater"]["cy"]
    assert cy["answers"] == 5 and cy["labels"] == 3
    assert cy["skip_rate"] == pytest.approx(1 / 5) and cy["unsure_rate"] == pytest.approx(1 / 5)
    assert cy["median_ms"] is not None
    # ben is outvoted on i1 (ana and cy say pos) and on i3 (ana alone says neg).
    ben = body["per_rater"]["ben"]
    assert ben["loo_scored"] == 4 and ben["loo_agreement"] == pytest.approx(2 / 4)
    # On i1 the others of ana (and of cy) tie: not scored; i4 has no other answer.
    assert body["per_rater"]["ana"]["loo_scored"] == 3
    assert body["per_rater"]["cy"]["loo_agreement"] == pytest.approx(1.0)
    assert body["dawid_skene"]["computed"] is True
    assert len(ben["dawid_skene"]["confusion"]) == 2
    # The most disputed items first: i1 and i3.
    assert [it["id"] for it in body["items"][:2]] == ["i3", "i1"]
    assert body["items"][0]["counts"] == {"pos": 1, "neg": 1}
    # Rater-vs-rater table over ordered pairs within items.
    assert body["confusion"]["counts"] == [[8, 3], [3, 6]]
    assert body["human_level"]["accuracy"] is not None
    assert body["model"] is None


def test_roles(client: Any, setup: dict[str, Any], make_user: Any) -> None:
    pid = setup["project"].id
    assert _get(client, pid, setup["people"]["ana"][1]).status_code == 403
    _, outsider = make_user("zed", "engineer")
    assert _get(client, pid, outsider).status_code == 404
    resp = client.get(f"/api/v1/projects/{pid}/agreement")
    assert resp.status_code == 401


def test_slices(client: Any, setup: dict[str, Any]) -> None:
    pid, token = setup["project"].id, setup["eng"]
    pair = _get(client, pid, token, "?raters=ana,cy").get_json()
    assert set(pair["cohen_kappa"]) == {"ana|cy"}
    assert set(pair["per_rater"]) == {"ana", "cy"}
    assert pair["krippendorff_alpha"] == pytest.approx(1.0)
    one_class = _get(client, pid, token, "?label=neg").get_json()
    assert one_class["labels"] == ["neg", "not neg"]
    assert one_class["slice"]["label"] == "neg"
    # Answers created later than "now" are none.
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    empty = _get(client, pid, token, f"?since={later.replace('+', '%2B')}").get_json()
    assert empty["n_annotations"] == 0 and empty["krippendorff_alpha"] is None
    assert empty["human_level"]["accuracy"] is None and empty["per_rater"] == {}


def test_date_range_uses_answer_times(app: Any, client: Any, setup: dict[str, Any]) -> None:
    pid, token = setup["project"].id, setup["eng"]
    old = datetime(2020, 1, 1, tzinfo=UTC)
    db.session.execute(
        update(Annotation)
        .where(Annotation.rater_id == setup["people"]["ben"][0].id)
        .values(created_at=old)
    )
    db.session.commit()
    body = _get(client, pid, token, "?until=2021-01-01T00:00:00").get_json()
    assert set(body["per_rater"]) == {"ben"} and body["n_annotations"] == 4
    body = _get(client, pid, token, "?since=2021-01-01").get_json()
    assert set(body["per_rater"]) == {"ana", "cy"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?threshold=2", "threshold"),
        ("?label=nope", "label"),
        ("?raters=ana,nobody", "raters"),
        ("?raters=,", "raters"),
        ("?since=2024-01-02&until=2024-01-01", "until"),
        ("?since=yesterday", "since"),
        ("?since=0001-01-01T00:00:00%2B05:00", "since"),
        # Lax pydantic reads a number as seconds since 1970; the document offers ISO text.
        ("?since=-6.466063209606254e-111", "since"),
        ("?until=1700000000", "until"),
        ("?level=interval", "level"),
        ("?top=5000", "top"),
    ],
)
def test_bad_queries_name_the_field(
    client: Any, setup: dict[str, Any], query: str, field: str
) -> None:
    resp = _get(client, setup["project"].id, setup["eng"], query)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == field


def test_model_score_sits_next_to_human_level(client: Any, setup: dict[str, Any]) -> None:
    project = setup["project"]
    db.session.add(
        TrainingRound(
            project_id=project.id,
            status="done",
            strategy="random",
            n_labels=12,
            cv_accuracy=0.81,
            cv_macro_f1=0.8,
        )
    )
    db.session.commit()
    body = _get(client, project.id, setup["eng"]).get_json()
    assert body["model"]["cv_accuracy"] == pytest.approx(0.81)
    assert body["model"]["n_labels"] == 12


def test_cli_json_matches_the_service(runner: Any, setup: dict[str, Any]) -> None:
    result = runner.invoke(main, ["agreement", "quality", "--json", "--dawid-skene", "off"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    again = quality.agreement_report(setup["project"], dawid_skene_mode="off")
    for key in ("krippendorff_alpha", "fleiss_kappa", "percent_agreement", "cohen_kappa"):
        assert report[key] == again[key]
    assert report["dawid_skene"]["computed"] is False
    text = runner.invoke(main, ["agreement", "quality", "--dawid-skene", "off"])
    assert text.exit_code == 0 and "Krippendorff's alpha (nominal)" in text.output
    bad = runner.invoke(main, ["agreement", "quality", "--threshold", "3"])
    assert bad.exit_code != 0 and "threshold" in bad.output


def test_ordered_labels_use_ordinal_alpha(runner: Any, app: Any) -> None:
    made = runner.invoke(main, ["project", "create", "stars", "--labels", "1,2,3", "--ordered"])
    assert made.exit_code == 0, made.output
    project = projects.find_project("stars")
    assert project.labels_ordered
    report = quality.agreement_report(project, dawid_skene_mode="off")
    assert report["level"] == "ordinal"
    assert projects.project_dict(project)["labels_ordered"] is True


def test_openapi_lists_the_route(client: Any, setup: dict[str, Any]) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/projects/{pid}/agreement"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"pid", "label", "raters", "since", "until"}
    assert "Agreement" in json.dumps(op["responses"]["200"])


def test_project_page_shows_quality_next_to_the_model(client: Any, setup: dict[str, Any]) -> None:
    from tests.integration.test_pages import login

    project = setup["project"]
    db.session.add(
        TrainingRound(
            project_id=project.id, status="done", strategy="random", n_labels=12, cv_accuracy=0.81
        )
    )
    db.session.commit()
    login(client, "eve")
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="quality"' in html and 'id="model-vs-hlp"' in html
    assert "0.810" in html  # the model's CV accuracy, beside the human-level figure
    assert "Human-level" in html and "Krippendorff" in html
    assert 'class="chart kappa-heatmap"' in html and "ana / ben: kappa" in html
    assert 'id="class-confusion"' in html and 'id="disputed-items"' in html
    # No inline script or style: the CSP allows none.
    assert "<script>" not in html and "style=" not in html


def test_project_page_without_answers_says_why(client: Any, app: Any, make_user: Any) -> None:
    from tests.integration.test_pages import login

    project = projects.create_project("empty", ["a", "b"])
    eng, _ = make_user("eng2", "engineer")
    projects.add_member(project, eng)
    login(client, "eng2")
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "labeler agreement empty" in html


def test_patch_marks_the_label_set_ordered(client: Any, setup: dict[str, Any]) -> None:
    pid, headers = setup["project"].id, {"Authorization": f"Bearer {setup['eng']}"}
    resp = client.patch(f"/api/v1/projects/{pid}", json={"labels_ordered": True}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["labels_ordered"] is True
    assert _get(client, pid, setup["eng"]).get_json()["level"] == "ordinal"
    bad = client.patch(f"/api/v1/projects/{pid}", json={"labels_ordered": "yes"}, headers=headers)
    assert (
        bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "labels_ordered"
    )


def test_cli_writes_every_items_disagreement(
    runner: Any, setup: dict[str, Any], tmp_path: Any
) -> None:
    import csv

    out = tmp_path / "items.csv"
    got = runner.invoke(
        main, ["agreement", "quality", "--dawid-skene", "off", "--items-csv", str(out)]
    )
    assert got.exit_code == 0, got.output
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["item_id", "answers", "entropy", "pos", "neg"]
    by_id = {r[0]: r[1:] for r in rows[1:]}
    assert set(by_id) == {"i0", "i1", "i2", "i3", "i4"}  # i5 has no label, only "unsure"
    assert by_id["i3"] == ["2", "1.0", "1", "1"]
    assert by_id["i0"] == ["3", "0.0", "3", "0"]


def test_agreement_over_time_groups_items_by_their_last_answer(
    client: Any, setup: dict[str, Any]
) -> None:
    from labeler.services.quality.trend import agreement_over_time
    from tests.integration.test_pages import login

    project = setup["project"]
    # i0 and i2 (full agreement) finished in the first week of November, i1 and i3
    # (a split) two weeks later; i4 has one label and joins no figure.
    for ref, day in (("i0", 2), ("i2", 3), ("i1", 16), ("i3", 17), ("i4", 17)):
        item = assignment.find_item(project, ref)
        db.session.execute(
            update(Annotation)
            .where(Annotation.item_id == item.id)
            .values(created_at=datetime(2026, 11, day, 12, tzinfo=UTC))
        )
    db.session.commit()
    got = agreement_over_time(project)
    assert got["period"] == "week"  # 15 days span more than 12 points of a day
    points = [
        (p["start"][:10], p["n_items"], round(p["percent_agreement"], 4)) for p in got["points"]
    ]
    # Weeks from Monday 2 November; the empty week of the 9th is left out.
    assert points == [("2026-11-02", 2, 1.0), ("2026-11-16", 2, 0.1667)]
    login(client, "eve")
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'class="chart agreement-trend"' in html and "2026-11-16: 0.167 on 2 items" in html


def test_the_learning_curve_draws_human_level_accuracy(client: Any, setup: dict[str, Any]) -> None:
    from tests.integration.test_pages import login

    project = setup["project"]
    for n, acc in ((6, 0.6), (12, 0.7)):
        db.session.add(
            TrainingRound(
                project_id=project.id, status="done", strategy="random", n_labels=n, cv_accuracy=acc
            )
        )
    db.session.commit()
    hlp = quality.page_report(project)["human_level"]["accuracy"]
    login(client, "eve")
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "series-hlp" in html and f"human-level accuracy {hlp:.3f}" in html
