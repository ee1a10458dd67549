"""The engineer's pages in Chromium: live job and round status, import progress,
the learning curve, the item browser, and a 390-pixel-wide screen.

No worker runs next to the live server: the tests play the worker in this
process (``jobs.run_import_job``, ``training.execute_round``) while the page
is open, and watch the page change without a reload.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.extensions import db
from labeler.models import Job, TrainingRound
from labeler.services import assignment, jobs, projects, training, users
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("LABELER_SHOTS", "/tmp/shots-eng"))


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _no_csp_violations(page: Page, where: str) -> None:
    seen = page.evaluate("window.__csp || []")
    assert not seen, f"CSP violations on {where}: {seen}"


def _seed(app: Any, *, rounds: bool = False, items: int = 0) -> int:
    with app.app_context():
        eng = users.create_user("eve", "engineer", PASSWORD)
        project = projects.create_project(
            "engineering", ["pos", "neg"], overlap=2, retrain_every=0, created_by=eng
        )
        if items:
            add_items(
                project,
                [
                    {"id": f"t{k}", "text": "<img src=x> great" if k == 0 else f"text {k}"}
                    for k in range(items)
                ],
            )
        if rounds:
            for k, (n, acc, f1) in enumerate(
                [(10, 0.61, 0.55), (20, 0.7, 0.66), (30, 0.78, 0.74), (40, 0.83, 0.8)]
            ):
                db.session.add(
                    TrainingRound(
                        project_id=project.id,
                        status="done",
                        trigger="manual",
                        strategy="margin",
                        strategy_used="margin",
                        max_annotation_id=k,
                        n_labels=n,
                        cv_accuracy=acc,
                        cv_macro_f1=f1,
                        duration_s=1.5,
                    )
                )
            db.session.commit()
        return project.id


def test_import_progress_and_jobs_table_update_without_reload(
    page: Page, live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = live_server.app
    app.config["LABELER_IMPORT_CHUNK"] = 500
    # This test follows one import job; with TF-IDF features no embedding job follows it.
    app.config["LABELER_TEXT_FEATURES"] = "tfidf"
    pid = _seed(app)
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "eve", PASSWORD)
    page.goto(f"/projects/{pid}")
    upload = tmp_path / "big.jsonl"
    upload.write_text(
        "".join(json.dumps({"id": f"r{k}", "text": f"row {k}"}) + "\n" for k in range(3000))
    )
    page.set_input_files("#file", str(upload))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("#job-text")).to_contain_text("queued")
    expect(page.locator("#jobs-body tr .job-status").first).to_have_text("queued")
    with app.app_context():
        job_id = db.session.query(Job.id).scalar()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    # Play the worker; hold it after the second chunk until the page has shown it.
    seen_progress = threading.Event()
    real = jobs.set_progress
    calls: list[tuple[int, int | None]] = []

    def held(job: int, progress: int, total: int | None = None) -> None:
        real(job, progress, total)
        calls.append((progress, total))
        if progress >= 1000 and not seen_progress.is_set():
            seen_progress.wait(timeout=30)

    monkeypatch.setattr(jobs, "set_progress", held)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                jobs.run_import_job(job_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        expect(page.locator("#job-text")).to_have_text("running: 1000 / 3000 rows", timeout=15_000)
        assert page.locator("#job-bar").get_attribute("max") == "3000"
        assert page.evaluate("document.getElementById('job-bar').value") == 1000
        expect(page.locator("#jobs-body tr .job-rows").first).to_have_text("1000 / 3000")
        _shot(page, "project-import-running.png")
    finally:
        seen_progress.set()
        worker.join(timeout=60)
    assert not errors, errors
    expect(page.locator("#job-text")).to_have_text("done: 3000 / 3000 rows", timeout=15_000)
    expect(page.locator("#jobs-body tr .job-status").first).to_have_text("done")
    expect(page.locator("#jobs-body tr .job-rows").first).to_have_text("3000 / 3000")
    expect(page.locator("#job-result")).to_be_visible()
    assert navigations == [], "the page reloaded"
    assert len(calls) >= 6 and calls[-1][0] == 3000  # the total (3000) was set before the import
    _no_csp_violations(page, "the project page")
    _shot(page, "project-import-done.png")


def test_round_status_updates_without_reload(page: Page, live_server: Any) -> None:
    app = live_server.app
    pid = _seed(app, items=12)
    with app.app_context():
        project = projects.find_project(pid)
        rita = users.create_user("rita", "rater", PASSWORD)
        projects.add_member(project, rita)
        for k in range(8):
            got = assignment.next_item(project, rita)
            assert got is not None
            assignment.annotate(project, rita, got.item, "pos" if k % 2 else "neg")
    login(page, "eve", PASSWORD)
    page.goto(f"/projects/{pid}")
    expect(page.locator("#no-rounds")).to_be_visible()
    page.get_by_role("button", name="Retrain and re-rank now").click()
    expect(page.locator("#round-status")).to_contain_text("is queued")
    expect(page.locator("#rounds-body .round-status").first).to_have_text("queued")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    with app.app_context():
        rid = db.session.query(TrainingRound.id).scalar()
        done = training.execute_round(rid)
        assert done.status == "done", done.error
    expect(page.locator("#round-status")).to_have_text(f"Round {rid} is done.", timeout=15_000)
    expect(page.locator("#rounds-body .round-status").first).to_have_text("done")
    expect(page.locator("#curve-stale")).to_be_visible()
    assert navigations == []


def test_learning_curve_lines_and_legend(page: Page, live_server: Any) -> None:
    pid = _seed(live_server.app, rounds=True)
    login(page, "eve", PASSWORD)
    page.goto(f"/projects/{pid}#al")
    lines = page.locator("svg.learning-curve polyline")
    expect(lines).to_have_count(2)
    fills = page.evaluate(
        "[...document.querySelectorAll('svg.learning-curve polyline')]"
        ".map(e => getComputedStyle(e).fill)"
    )
    assert fills == ["none", "none"], fills
    expect(page.locator("svg.learning-curve circle")).to_have_count(8)
    box = page.evaluate(
        """() => {
          const r = (e) => { const b = e.getBoundingClientRect();
            return {l: b.left, r: b.right, t: b.top, b: b.bottom}; };
          return {
            legend: r(document.querySelector('svg.learning-curve .chart-legend')),
            plot: r(document.querySelector('svg.learning-curve .plot-area')),
            lines: [...document.querySelectorAll('svg.learning-curve polyline')].map(r),
          };
        }"""
    )

    def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
        return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]

    assert not overlap(box["legend"], box["plot"]), box
    assert not any(overlap(box["legend"], line) for line in box["lines"]), box
    # The y axis starts a bit below the data (0.55), not at 0.
    ticks = page.locator("svg.learning-curve text.tick").all_text_contents()
    assert "0.00" not in ticks and "0.50" in ticks, ticks
    page.locator("#curve").screenshot(path=str(SHOTS / "learning-curve.png"))


def test_narrow_screen_and_item_browser(page: Page, live_server: Any) -> None:
    app = live_server.app
    pid = _seed(app, rounds=True, items=60)
    with app.app_context():
        project = projects.find_project(pid)
        rita = users.create_user("rita", "rater", PASSWORD)
        projects.add_member(project, rita)
        got = assignment.next_item(project, rita)
        assert got is not None
        assignment.annotate(project, rita, got.item, "pos", duration_ms=2300)
        assignment.undo_last(project, rita)
        assignment.annotate(project, rita, got.item, "neg", duration_ms=1200)
        first = got.item.external_id
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "eve", PASSWORD)

    # The item browser: filter, page, open an item, all with the keyboard.
    page.goto(f"/projects/{pid}/items")
    expect(page.locator(".items-table tbody tr")).to_have_count(50)
    expect(page.locator(".items-table tbody")).to_contain_text("<img src=x> great")
    assert page.locator(".items-table img").count() == 0
    page.locator("#next-page").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".items-table tbody tr")).to_have_count(10)
    page.locator("#f-rater").select_option("rita")
    page.locator("#f-q").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".items-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name=first, exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#history tbody tr")).to_have_count(2)
    expect(page.locator("#history tbody tr.retracted")).to_contain_text("pos")
    expect(page.locator("#history tbody tr.current")).to_contain_text("neg")
    expect(page.locator("#history tbody tr.current")).to_contain_text("1.2 s")
    expect(page.locator("#model-note")).to_contain_text("No round stores per-item predictions")
    _shot(page, "item-page-desktop.png")
    _no_csp_violations(page, "an item page")

    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (
        (f"/projects/{pid}", "project-390.png"),
        (f"/projects/{pid}/items", "items-390.png"),
        (f"/projects/{pid}/items/{first}", "item-390.png"),
    ):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide at 390"
        _shot(page, name)
        _no_csp_violations(page, path)
    page.set_viewport_size({"width": 1100, "height": 800})
    page.goto(f"/projects/{pid}/items")
    _shot(page, "items-desktop.png")
    page.goto(f"/projects/{pid}")
    _shot(page, "project-desktop.png")
