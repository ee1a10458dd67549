"""The gold form on the engineer's item page in a real browser, at 390 px, from the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.services import projects, users
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login
from tests.e2e.test_project_page_browser import _no_csp_violations, _shot

pytestmark = pytest.mark.e2e


def test_gold_form_by_keyboard_at_390(page: Page, live_server: Any) -> None:
    with live_server.app.app_context():
        eng = users.create_user("eve", "engineer", PASSWORD)
        project = projects.create_project("goldpage", ["pos", "neg"], gold_rate=0.1)
        projects.add_member(project, eng)
        add_items(project, [{"id": "g1", "text": "a <b>known</b> answer"}])
        pid = project.id
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "eve", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{pid}/items/g1")
    expect(page.locator("#gold-status")).to_have_text("Not a gold item.")
    expect(page.locator("#item-text")).to_have_text("a <b>known</b> answer")  # escaped
    page.locator("#gold-label").focus()
    page.keyboard.press("ArrowDown")  # pos -> neg
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#gold-status")).to_contain_text("its known answer is neg")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the item page is {width}px wide at 390"
    _shot(page, "gold-item-390.png")
    page.get_by_role("button", name="Not gold").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#gold-status")).to_have_text("Not a gold item.")
    _no_csp_violations(page, "the item page's gold form")
