"""The labeling page in a real headless Chromium against a live server on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Job, Project
from labeler.services import importing, jobs, projects, users

pytestmark = pytest.mark.e2e

SCRIPT_TEXT = "<script>window.__pwned=1</script><b>bold</b>"
TEXTS = [SCRIPT_TEXT, "I love it", "Terrible service", "It is a chair", "Best day ever"]
PASSWORD = "pw-rita-1"


def add_items(project: Project, records: list[dict[str, Any]]) -> None:
    importing.import_records(project, records)


def add_raw_items(project: Project, records: list[dict[str, Any]]) -> None:
    """Rows straight into the table, for data the importer does not take (pixel arrays)."""
    for rec in records:
        data = {k: v for k, v in rec.items() if k != "id"}
        db.session.add(Item(project_id=project.id, external_id=rec["id"], data=data))
    db.session.commit()


def make_text_project(app: Any) -> tuple[int, int]:
    """A rater and a text project (pos/neg/neutral, overlap 1) with five items i1..i5."""
    with app.app_context():
        rater = users.create_user("rita", "rater", PASSWORD)
        project = projects.create_project(
            "e2e-text",
            ["pos", "neg", "neutral"],
            overlap=1,
            instructions="Label the **sentiment** of each text.\n\n<script>window.__pwned=2</script>",
        )
        projects.add_member(project, rater)
        add_items(project, [{"id": f"i{k + 1}", "text": t} for k, t in enumerate(TEXTS)])
        return project.id, rater.id


def login(page: Page, name: str, password: str) -> None:
    """Log in through the form with the keyboard: type, Tab, type, Enter."""
    page.goto("/login")
    expect(page.locator("#name")).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".topbar .who")).to_contain_text(name)


def expect_item(page: Page, item_id: str) -> None:
    expect(page.locator("#item")).to_have_attribute("data-item-id", item_id)
    expect(page.locator("#item")).to_have_attribute("aria-busy", "false")


def annotations_of(app: Any, rater_id: int) -> list[tuple[str, str, str | None, bool, Any]]:
    """(item, kind, label, is_current, row) for the rater, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(Item.external_id, Annotation)
            .join(Item, Item.id == Annotation.item_id)
            .where(Annotation.rater_id == rater_id)
            .order_by(Annotation.id)
        ).all()
        return [(ext, a.kind, a.label, a.is_current, a) for ext, a in rows]


def test_label_with_the_keyboard_and_undo(page: Page, live_server: Any, tmp_path: Path) -> None:
    pid, rater_id = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")

    # The first item is the hostile one: shown as literal text, never run or parsed.
    expect_item(page, "i1")
    expect(page.locator("#item .item-text")).to_have_text(SCRIPT_TEXT)
    assert page.locator("#item .item-text").text_content() == SCRIPT_TEXT
    assert page.locator("#item script, #item b").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    expect(page.locator("#instructions strong")).to_have_text("sentiment")
    expect(page.locator("#instructions")).to_contain_text("<script>window.__pwned=2</script>")
    expect(page.locator(".label-btn kbd")).to_have_text(["1", "2", "3"])

    # ? opens the key help, Escape closes it.
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("neutral")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    page.keyboard.press("1")  # i1 -> pos
    expect_item(page, "i2")
    expect(page.locator("#mine")).to_have_text("1")
    expect(page.locator("#progress-text")).to_have_text("1 / 5 items complete")
    expect(page.locator("#status")).to_contain_text("Saved pos for item i1")
    page.keyboard.press("2")  # i2 -> neg
    expect_item(page, "i3")
    page.keyboard.press("3")  # i3 -> neutral
    expect_item(page, "i4")
    expect(page.locator("#mine")).to_have_text("3")
    expect(page.locator("#progress-text")).to_have_text("3 / 5 items complete")

    page.keyboard.press("z")  # undo the neutral on i3
    expect_item(page, "i3")
    expect(page.locator("#item .item-text")).to_have_text("Terrible service")
    expect(page.locator("#mine")).to_have_text("2")
    expect(page.locator("#status")).to_contain_text("Undone")
    page.keyboard.press("1")  # and label it pos instead
    expect_item(page, "i4")
    expect(page.locator("#mine")).to_have_text("3")
    expect(page.locator("#progress-bar")).to_have_attribute("max", "5")
    assert page.evaluate("typeof window.__pwned") == "undefined"

    shot = tmp_path / "label-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    rows = annotations_of(live_server.app, rater_id)
    current = sorted((ext, label) for ext, _kind, label, is_current, _ in rows if is_current)
    assert current == [("i1", "pos"), ("i2", "neg"), ("i3", "pos")]
    retracted = [(ext, label) for ext, _kind, label, is_current, _ in rows if not is_current]
    assert retracted == [("i3", "neutral")]
    assert len(rows) == 4
    for _ext, kind, _label, is_current, row in rows:
        assert kind == "label"
        assert row.origin == "ui"
        assert isinstance(row.duration_ms, int) and row.duration_ms >= 0
        assert (row.retracted_at is None) == is_current


def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_buttons_work_with_tab_and_enter(page: Page, live_server: Any) -> None:
    pid, rater_id = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")

    _tab_to(page, '.label-btn[data-label="neg"]')
    neg = page.locator('.label-btn[data-label="neg"]')
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "focused buttons need a visible focus style"
    page.keyboard.press("Enter")
    expect_item(page, "i2")
    expect(neg).to_be_focused()  # focus stays put while the next item loads
    page.keyboard.press("Enter")
    expect_item(page, "i3")

    _tab_to(page, "#skip-btn")
    page.keyboard.press("Enter")
    expect_item(page, "i4")
    _tab_to(page, "#undo-btn")
    page.keyboard.press("Enter")
    expect_item(page, "i3")
    expect(page.locator("#status")).to_contain_text("Undone")

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.locator('.label-btn[data-label="neutral"]')).to_be_focused()
    for expected_next in ("i4", "i5"):
        page.keyboard.press("Enter")
        expect_item(page, expected_next)
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#done")).to_contain_text(
        "Nothing left for you in this project — thank you"
    )
    page.keyboard.press("Enter")  # nothing on screen: nothing happens
    expect(page.locator("#error")).to_be_hidden()

    rows = annotations_of(live_server.app, rater_id)
    current = sorted((ext, kind, label) for ext, kind, label, is_current, _ in rows if is_current)
    assert current == [
        ("i1", "label", "neg"),
        ("i2", "label", "neg"),
        ("i3", "label", "neutral"),
        ("i4", "label", "neutral"),
        ("i5", "label", "neutral"),
    ]
    assert [(ext, kind) for ext, kind, _label, is_current, _ in rows if not is_current] == [
        ("i3", "skip")
    ]


def test_api_errors_are_shown_on_the_page(page: Page, live_server: Any) -> None:
    pid, _ = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")
    page.keyboard.press("z")  # nothing to undo yet: the API's 404 message is shown
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("nothing to undo")
    expect_item(page, "i1")
    page.keyboard.press("1")
    expect_item(page, "i2")
    expect(page.locator("#error")).to_be_hidden()


def test_tabular_and_image_items(page: Page, live_server: Any) -> None:
    digit = [0, 0, 5, 13, 9, 1, 0, 0] * 8  # sklearn digits: 8x8, values 0..16
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    with live_server.app.app_context():
        rater = users.create_user("tia", "rater", PASSWORD)
        tab = projects.create_project("tab", ["yes", "no"], kind="tabular")
        img = projects.create_project("img", ["0", "1"], kind="image")
        for project in (tab, img):
            projects.add_member(project, rater)
        add_items(tab, [{"id": "t1", "age": 41, "city": "<i>Oslo</i>"}])
        add_raw_items(img, [{"id": "d1", "image": digit}])
        add_items(img, [{"id": "p1", "image": png}])
        tab_id, img_id = tab.id, img.id
    login(page, "tia", PASSWORD)

    page.goto(f"/projects/{tab_id}/label")
    expect_item(page, "t1")
    expect(page.locator("#item table tr")).to_have_count(2)
    expect(page.locator("#item table")).to_contain_text("<i>Oslo</i>")
    assert page.locator("#item i").count() == 0

    page.goto(f"/projects/{img_id}/label")
    expect_item(page, "d1")
    canvas = page.locator("#item canvas")
    expect(canvas).to_have_count(1)
    assert canvas.evaluate("c => [c.width, c.height]") == [320, 320]
    # a dark pixel where the value is 13 of 16 (row 0, column 3)
    shade = canvas.evaluate("c => c.getContext('2d').getImageData(3 * 40 + 5, 5, 1, 1).data[0]")
    assert shade < 80
    page.keyboard.press("1")
    expect_item(page, "p1")
    expect(page.locator("#item img")).to_have_attribute("src", png)


def test_upload_form_and_job_progress(page: Page, live_server: Any, tmp_path: Path) -> None:
    """Upload through the form, play the worker in this process, watch the page follow."""
    app = live_server.app
    with app.app_context():
        eng = users.create_user("eve", "engineer", PASSWORD)
        pid = projects.create_project("jobs", ["a", "b"], created_by=eng).id
    login(page, "eve", PASSWORD)

    def upload(name: str, content: str) -> int:
        page.goto(f"/projects/{pid}")
        path = tmp_path / name
        path.write_text(content)
        page.locator("#file").set_input_files(str(path))
        page.locator("#format").select_option("jsonl")
        page.get_by_role("button", name="Upload and import").click()
        page.wait_for_url(re.compile(r"[?&]job=\d+"))
        match = re.search(r"job=(\d+)", page.url)
        assert match
        return int(match.group(1))

    def run_worker(job_id: int) -> None:
        with app.app_context():
            jobs.run_import_job(job_id)

    job_id = upload("items.jsonl", '{"id": "x1", "text": "hello"}\n{"id": "x2", "text": "world"}\n')
    expect(page.locator("#job-text")).to_contain_text("queued")
    # Total unknown: the bar is indeterminate.
    assert page.locator("#job-bar").evaluate("b => b.position") == -1
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.status, job.progress, job.total = "running", 1, 2
        db.session.commit()
    expect(page.locator("#job-text")).to_have_text("running: 1 / 2 rows")
    assert page.locator("#job-bar").evaluate("b => b.value / b.max") == 0.5
    run_worker(job_id)
    expect(page.locator("#job-text")).to_have_text("done: 2 / 2 rows")
    expect(page.locator("#job-result")).to_contain_text("created")
    expect(page.locator("#job-error")).to_be_hidden()
    expect(page.locator("#project-progress")).to_contain_text("0 / 2 items complete")

    bad = '{"id": "y1", "text": "fine"}\n{"id": "y2"}\nnot json\n'
    job_id = upload("bad.jsonl", bad)
    run_worker(job_id)
    expect(page.locator("#job-text")).to_contain_text("failed")
    expect(page.locator("#job-error")).to_be_visible()
    rows = page.locator("#job-error table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").first).to_have_text("2")
    expect(rows.nth(1).locator("td").first).to_have_text("3")
    with app.app_context():
        n_items = db.session.scalar(select(func.count(Item.id)).where(Item.project_id == pid))
    assert n_items == 2  # nothing of the bad file was imported
