"""The adjudication page in a real browser, at 390 px, by keyboard (issue 10, item 7).

An sme opens the queue (a tie first, then a 2-1 majority under the threshold),
reads the answers with the raters' names hidden, moves with j/k, writes a note,
picks the final label with its hotkey, and the export then gives that item the
label with source "adjudicated". Item text with markup stays text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.services import assignment, projects, users
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login
from tests.e2e.test_project_page_browser import _no_csp_violations, _shot

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.__xss=1"> tie'


def _seed(app: Any) -> int:
    with app.app_context():
        sme = users.create_user("sam", "sme", PASSWORD)
        project = projects.create_project(
            "adjudicate", ["pos", "neg"], overlap=3, adjudication_threshold=0.7
        )
        projects.add_member(project, sme)
        add_items(
            project,
            [
                {"id": "a0", "text": HOSTILE},
                {"id": "a1", "text": "two to one"},
                {"id": "a2", "text": "all agree"},
            ],
        )
        raters = [users.create_user(f"rater-{n}", "rater", PASSWORD) for n in range(3)]
        for iid, labels in {
            "a0": ["pos", "neg"],
            "a1": ["pos", "neg", "neg"],
            "a2": ["pos"] * 3,
        }.items():
            for rater, label in zip(raters, labels, strict=False):
                assignment.answer(project, rater, iid, label)
        return project.id


def test_adjudicate_by_keyboard_at_390(page: Page, live_server: Any) -> None:
    pid = _seed(live_server.app)
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "sam", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{pid}/adjudicate")
    expect(page.locator("#entry-id")).to_have_text("a0")
    expect(page.locator("#entry .item-text")).to_have_text(HOSTILE)
    assert page.evaluate("window.__xss") is None
    expect(page.locator("#entry-reasons")).to_contain_text("tie")
    expect(page.locator("#answers-body")).to_contain_text("rater 1")
    expect(page.locator("#answers-body")).not_to_contain_text("rater-0")
    expect(page.locator("#position")).to_contain_text("item 1 of 2")

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("#entry-id")).to_have_text("a1")
    expect(page.locator("#entry-reasons")).to_contain_text("low confidence")
    page.keyboard.press("k")
    expect(page.locator("#entry-id")).to_have_text("a0")

    page.locator("#note").focus()
    page.keyboard.type("read the whole review")
    page.keyboard.press("Escape")
    page.keyboard.press("2")  # neg
    expect(page.locator("#status")).to_contain_text("a0: neg")
    expect(page.locator("#entry-id")).to_have_text("a1")
    expect(page.locator("#position")).to_contain_text("item 1 of 1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the adjudication page is {width}px wide at 390"
    _shot(page, "adjudicate-390.png")

    exported = page.request.get(f"/api/v1/projects/{pid}/export?format=jsonl")
    assert exported.ok
    rows = {r["id"]: r for r in map(json.loads, exported.text().splitlines())}
    assert (rows["a0"]["label"], rows["a0"]["source"]) == ("neg", "adjudicated")
    assert rows["a1"]["source"] == "human" and rows["a2"]["label"] == "pos"

    page.keyboard.press("1")  # a1 -> pos: the queue is empty
    expect(page.locator("#empty")).to_be_visible()
    _no_csp_violations(page, "the adjudication page")
