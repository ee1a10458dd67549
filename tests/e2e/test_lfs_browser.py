"""The SME's labeling-function page in Chromium: write an LF, watch the live preview
highlight the matches (item text escaped), save a version, switch it off; at 390 px too.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.services import projects, users
from labeler.services.jobs import recent_jobs
from labeler.services.weak import apply, lfs
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login

pytestmark = pytest.mark.e2e

TEXTS = [
    "Check out my channel",
    "great song, love it",
    "<img src=x onerror=alert(1)> check this out",
    "nice video",
    "CHECK it",
]


def _seed(app: Any) -> int:
    with app.app_context():
        sme = users.create_user("sam", "sme", PASSWORD)
        project = projects.create_project("comments", ["ham", "spam"], created_by=sme)
        add_items(project, [{"id": f"c{k}", "text": t} for k, t in enumerate(TEXTS)])
        return project.id


@pytest.mark.parametrize("width", [1100, 390])
def test_write_preview_and_save_an_lf(page: Page, live_server: Any, width: int) -> None:
    pid = _seed(live_server.app)
    page.set_viewport_size({"width": width, "height": 900})
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "sam", PASSWORD)
    page.goto(f"/projects/{pid}/lfs")
    page.keyboard.press("/")  # keyboard first: "/" goes to the editor
    expect(page.locator("#lf-name")).to_be_focused()
    page.keyboard.type("check")
    page.select_option("#lf-label", "spam")
    page.fill("#lf-words", "check")
    figures = page.locator("#preview-figures")
    expect(figures).to_contain_text("3 of 5 items (60.0%)")
    marks = page.locator("#preview-items mark")
    expect(marks).to_have_count(3)
    assert sorted(m.lower() for m in marks.all_inner_texts()) == ["check"] * 3
    # The item's markup is text on the page, never an element.
    expect(page.locator("#preview-items")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#preview-items img").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1

    page.locator("#lf-name").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#lf-status")).to_contain_text("Saved check v1")
    row = page.locator("tr[data-name='check']")
    expect(row).to_contain_text("not applied yet")
    with live_server.app.app_context():
        project = projects.find_project(pid)
        saved = lfs.find_lf(project, "check")
        assert saved.version == 1 and saved.spec["words"] == ["check"]
        jobs = [j.kind for j in recent_jobs(project)]
        # The page queued the apply (the items' import queued their embedding before).
        assert [k for k in jobs if k != "embed"] == ["weak_apply"]
        apply.apply_stale(project)  # play the worker
    page.reload()
    row = page.locator("tr[data-name='check']")
    expect(row).to_contain_text("60.0%")
    expect(page.locator("svg.coverage-chart")).to_be_visible()

    toggle = row.locator("button.toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    with live_server.app.app_context():
        assert lfs.used(projects.find_project(pid)) == []
    assert not page.evaluate("window.__csp || []")
