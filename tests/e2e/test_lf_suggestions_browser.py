"""The LF page's Suggested list in Chromium, by keyboard: e loads a suggestion into the
editor (with its preview), a saves it through the save route; at 390 px, under the CSP.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.services import assignment, projects, users
from labeler.services.weak import lfs
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login
from tests.integration.test_weak_suggest import LABELED, POOL

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> int:
    with app.app_context():
        sme = users.create_user("sam", "sme", PASSWORD)
        rater = users.create_user("rae", "rater", PASSWORD)
        project = projects.create_project("mail", ["ham", "spam"], created_by=sme)
        projects.add_member(project, rater)
        add_items(project, [{"id": e, "text": t} for e, t, _ in LABELED])
        add_items(project, [{"id": e, "text": t} for e, t in POOL])
        for ext, _, label in LABELED:
            assignment.answer(project, rater, ext, label)
        return project.id


def test_edit_then_accept_a_suggestion_by_keyboard(page: Page, live_server: Any) -> None:
    pid = _seed(live_server.app)
    page.set_viewport_size({"width": 390, "height": 900})
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "sam", PASSWORD)
    page.goto(f"/projects/{pid}/lfs")
    row = page.locator("#suggest-list li", has_text="prize")
    expect(row).to_contain_text("→ spam · precision 1.00 · support 6 · coverage 50.0%")

    row.focus()
    page.keyboard.press("e")
    expect(page.locator("#lf-name")).to_be_focused()
    expect(page.locator("#lf-words")).to_have_value("prize")
    expect(page.locator("#lf-label")).to_have_value("spam")
    expect(page.locator("#preview-figures")).to_contain_text("accuracy vs humans 1.00 on 6")

    row.focus()
    page.keyboard.press("a")
    expect(page.locator("#suggest-status")).to_contain_text("Saved kw_spam_prize v1")
    with live_server.app.app_context():
        saved = lfs.find_lf(projects.find_project(pid), "kw_spam_prize")
        assert saved.spec["words"] == ["prize"] and saved.spec["label"] == "spam"
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    assert not page.evaluate("window.__csp || []")
