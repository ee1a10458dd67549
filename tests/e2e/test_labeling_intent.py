"""The labeling page never saves an answer the rater did not mean (issue 7, items 1-7).

Real headless Chromium against a live server on PostgreSQL. Each test failed on
the code before this change (the page had no such behaviour; see the report).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from labeler.extensions import db
from labeler.models import Project, User
from labeler.services import assignment, projects, users
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import (
    PASSWORD,
    add_items,
    annotations_of,
    expect_item,
    login,
    make_text_project,
)

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots-label")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _current(app: Any, rater_id: int) -> list[tuple[str, str, str | None]]:
    return sorted(
        (ext, kind, label)
        for ext, kind, label, is_current, _ in annotations_of(app, rater_id)
        if is_current
    )


def _no_csp_violations(page: Page) -> None:
    assert page.evaluate("window.__csp || []") == []


def _two_raters(app: Any, n_items: int, lease_seconds: int) -> tuple[int, int, int]:
    """rita (browser) and rob (plays the other rater through the services)."""
    with app.app_context():
        rita = users.create_user("rita", "rater", PASSWORD)
        rob = users.create_user("rob", "rater", PASSWORD)
        project = projects.create_project(
            "short-leases", ["pos", "neg"], overlap=1, lease_seconds=lease_seconds
        )
        for u in (rita, rob):
            projects.add_member(project, u)
        add_items(project, [{"id": f"t{k + 1}", "text": f"text {k + 1}"} for k in range(n_items)])
        return project.id, rita.id, rob.id


def _as_rob(app: Any, pid: int, rob_id: int, action: str, label: str = "pos") -> str | None:
    with app.app_context():
        project = db.session.get(Project, pid)
        rob = db.session.get(User, rob_id)
        got = assignment.next_item(project, rob)
        if got is None:
            return None
        if action == "answer":
            assignment.answer(project, rob, got.item.external_id, label)
        return str(got.item.external_id)


# ---------------------------------------------------------------- 1. overlays
def test_keys_do_nothing_while_the_help_covers_the_item(page: Page, live_server: Any) -> None:
    pid, rater_id = make_text_project(live_server.app)
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    for key in ("1", "2", "s", "u", "z"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    expect(page.locator("#help")).to_be_visible()
    expect_item(page, "i1")
    assert annotations_of(live_server.app, rater_id) == []

    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("1")
    expect_item(page, "i2")
    assert _current(live_server.app, rater_id) == [("i1", "label", "pos")]
    _no_csp_violations(page)


# ---------------------------------------------------------------- 2. keys while saving
def test_keys_pressed_while_saving_are_refused_visibly(page: Page, live_server: Any) -> None:
    pid, rater_id = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")

    held: list[Route] = []
    page.route("**/annotations", lambda route: held.append(route))
    page.keyboard.press("1")
    page.wait_for_function("document.body.classList.contains('busy')")
    page.keyboard.press("2")
    page.keyboard.press("3")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Still saving")
    expect(notice).to_contain_text("neutral")
    _shot(page, "busy-notice")
    page.wait_for_timeout(200)
    assert len(held) == 1  # the later keys sent nothing
    held[0].continue_()
    page.unroute("**/annotations")
    expect_item(page, "i2")
    # One answer, to the item that was on screen; the page said the others were not saved.
    assert _current(live_server.app, rater_id) == [("i1", "label", "pos")]
    page.keyboard.press("2")
    expect_item(page, "i3")
    expect(notice).to_be_hidden()
    assert _current(live_server.app, rater_id) == [("i1", "label", "pos"), ("i2", "label", "neg")]


# ---------------------------------------------------------------- 3. leases
def test_an_active_rater_keeps_the_lease_and_a_lost_one_moves_on(
    page: Page, live_server: Any
) -> None:
    app = live_server.app
    pid, rita_id, rob_id = _two_raters(app, n_items=3, lease_seconds=2)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "t1")

    # Active for three lease lengths: the page renews the lease, rob never gets t1.
    for k in range(12):
        page.mouse.move(100 + 10 * (k % 5), 200)
        page.wait_for_timeout(500)
    assert _as_rob(app, pid, rob_id, "lease") == "t2"
    page.keyboard.press("1")
    expect_item(page, "t3")
    assert _current(app, rita_id) == [("t1", "label", "pos")]

    # Idle: the lease runs out; rob answers t2 and then takes and answers t3.
    time.sleep(5)
    assert _as_rob(app, pid, rob_id, "answer") == "t2"
    assert _as_rob(app, pid, rob_id, "answer") == "t3"
    page.keyboard.press("1")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("t3")
    expect(notice).to_contain_text("ran out")
    expect(page.locator("#done")).to_be_visible()
    _shot(page, "lease-lost")
    page.keyboard.press("1")  # nothing on screen: no repeated "already has 1 answers"
    expect(page.locator("#error")).to_be_hidden()
    assert _current(app, rita_id) == [("t1", "label", "pos")]
    with app.app_context():
        assert assignment.counters_consistent(db.session.get(Project, pid)) == []


# ---------------------------------------------------------------- 4. two tabs
def test_a_second_tab_must_change_explicitly(page: Page, live_server: Any) -> None:
    pid, rater_id = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")
    other = page.context.new_page()
    other.goto(f"/projects/{pid}/label")
    expect_item(other, "i1")

    page.keyboard.press("3")  # tab A: neutral
    expect_item(page, "i2")
    other.keyboard.press("1")  # tab B, stale: pos
    dialog = other.locator("#conflict")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("neutral")
    expect(other.locator("#conflict-change")).to_be_focused()
    _shot(other, "two-tabs-conflict")
    assert _current(live_server.app, rater_id) == [("i1", "label", "neutral")]
    other.keyboard.press("2")  # covered: does nothing
    other.wait_for_timeout(200)
    assert len(annotations_of(live_server.app, rater_id)) == 1

    other.keyboard.press("Enter")  # change to pos, explicitly
    expect(dialog).to_be_hidden()
    expect_item(other, "i2")
    expect(other.locator("#status")).to_contain_text("Changed")
    rows = annotations_of(live_server.app, rater_id)
    assert [(ext, label, cur) for ext, _k, label, cur, _ in rows] == [
        ("i1", "neutral", False),
        ("i1", "pos", True),
    ]

    # The other way out: keep the current answer (Escape), nothing is stored.
    page.bring_to_front()
    other.keyboard.press("2")  # tab B answers i2 with neg
    expect_item(other, "i3")
    page.keyboard.press("1")  # tab A still shows i2
    expect(page.locator("#conflict")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#conflict")).to_be_hidden()
    expect_item(page, "i3")
    assert _current(live_server.app, rater_id) == [("i1", "label", "pos"), ("i2", "label", "neg")]
    other.close()


# ---------------------------------------------------------------- 5. progress
def test_progress_counts_answers_by_kind(page: Page, live_server: Any, tmp_path: Path) -> None:
    pid, _ = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")
    expect(page.locator("#left")).to_have_text("5")
    page.keyboard.press("1")
    expect_item(page, "i2")
    page.keyboard.press("u")
    expect_item(page, "i3")
    page.keyboard.press("s")
    expect_item(page, "i4")
    expect(page.locator("#mine")).to_have_text("1")
    expect(page.locator("#mine-unsure")).to_have_text("1")
    expect(page.locator("#mine-skip")).to_have_text("1")
    expect(page.locator("#left")).to_have_text("2")
    expect(page.locator("#progress-text")).to_have_text("2 / 5 items complete")
    _shot(page, "label-progress")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "label-progress-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.goto("/")
    card = page.locator(f'.project-card[data-project-id="{pid}"]')
    expect(card.locator(".my-progress")).to_have_text(
        "You: 1 labeled · 1 unsure · 1 skipped · 2 left for you"
    )
    expect(card).to_contain_text("2 / 5 items complete")
    _shot(page, "index-390")


# ---------------------------------------------------------------- 6. empty, not empty
def test_an_item_held_by_another_rater_comes_back(page: Page, live_server: Any) -> None:
    app = live_server.app
    pid, rita_id, rob_id = _two_raters(app, n_items=1, lease_seconds=3)
    assert _as_rob(app, pid, rob_id, "lease") == "t1"
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect(page.locator("#done")).to_be_visible()
    waiting = page.locator("#waiting")
    expect(waiting).to_contain_text("1 item is held by other raters")
    expect(waiting).to_contain_text("Checking again")
    _shot(page, "queue-waiting")
    # Rob walks away: his lease runs out and the page picks the item up by itself.
    expect(page.locator("#item")).to_have_attribute("data-item-id", "t1", timeout=15_000)
    expect(page.locator("#status")).to_contain_text("came free")
    page.keyboard.press("2")
    expect(page.locator("#done")).to_be_visible()
    expect(waiting).to_be_hidden()
    assert _current(app, rita_id) == [("t1", "label", "neg")]


# ---------------------------------------------------------------- 7. recent answers
def test_recent_answers_can_be_seen_and_changed(page: Page, live_server: Any) -> None:
    pid, rater_id = make_text_project(live_server.app)
    login(page, "rita", PASSWORD)
    page.goto(f"/projects/{pid}/label")
    expect_item(page, "i1")
    page.keyboard.press("1")
    expect_item(page, "i2")
    page.keyboard.press("2")
    expect_item(page, "i3")
    rows = page.locator("#recent-list li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("i2")
    expect(rows.nth(0)).to_contain_text("neg")

    page.keyboard.press("z")  # undo: the page says what it was
    expect_item(page, "i2")
    expect(page.locator("#status")).to_contain_text("you had answered “neg”")
    expect(rows.nth(0)).to_contain_text("undone")

    # Re-open the answer to i1 with the keyboard and change it.
    target = page.locator('.recent-open[data-item="i1"]')
    for _ in range(40):
        if target.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(target).to_be_focused()
    page.keyboard.press("Enter")
    expect_item(page, "i1")
    expect(page.locator("#review")).to_be_visible()
    expect(page.locator("#review")).to_contain_text("pos")
    _shot(page, "review-answer")
    page.keyboard.press("3")
    expect_item(page, "i2")  # back to the item the rater holds
    expect(page.locator("#review")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("Changed your answer for item i1")
    expect(rows.nth(0)).to_contain_text("neutral")
    history = [(e, lb, cur) for e, _k, lb, cur, _ in annotations_of(live_server.app, rater_id)]
    assert history == [
        ("i1", "pos", False),
        ("i2", "neg", False),
        ("i1", "neutral", True),
    ]

    # Escape leaves a re-opened answer unchanged.
    page.locator('.recent-open[data-item="i1"]').first.click()
    expect(page.locator("#review")).to_be_visible()
    page.keyboard.press("Escape")
    expect_item(page, "i2")
    expect(page.locator("#review")).to_be_hidden()
    assert len(annotations_of(live_server.app, rater_id)) == 3
