"""Admin and account flows end to end in headless Chromium, keyboard first.

An admin creates a user; the user (added to a project with ``projects.add_member``
in the test: the member form lives on the project page, another engineer's part)
logs in and labels, creates an API token on /account, uses it (200), revokes it
and sees it refused (401); the admin deactivates the user and their session ends.
Every page is checked for CSP violations and for overflowing a 390 px screen.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from labeler.services import projects, users
from tests.e2e.conftest import LiveServer
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, annotations_of, expect_item, login

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots-admin")
NEW_PASSWORD = "rob-pass-1234"


def _api_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local server)
            json.load(response)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _fits(page: Page, where: str) -> None:
    """No CSP violation, and nothing wider than the viewport."""
    page.wait_for_load_state("load")
    seen = page.evaluate("window.__csp || []")
    assert not seen, f"CSP violations on {where}: {seen}"
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]  # type: ignore[index]
    if width > viewport:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > w)
                 .slice(0, 1).map(e => { let out = []; for (let a = e; a; a = a.parentElement) out.push(a.tagName + '.' + a.className + ':' + Math.round(a.getBoundingClientRect().width)); return out.join(' < '); })""",
            viewport,
        )
        raise AssertionError(f"{where} is {width}px wide at {viewport}px: {wide}")


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for width in (1100, 390):
        page.set_viewport_size({"width": width, "height": 900})
        _fits(page, f"{name} at {width}px")
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 800})


def _type_into(page: Page, selector: str, text: str) -> None:
    page.locator(selector).focus()
    page.keyboard.type(text)


def _second_tab(page: Page, live_server: LiveServer) -> Page:
    """Another browser (own cookies) with the same guard as the ``page`` fixture."""
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_VIOLATIONS)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live_server.url + "/")
            else route.abort()
        ),
    )
    return context.new_page()


def test_admin_creates_a_user_who_labels_uses_a_token_and_is_deactivated(
    page: Page, live_server: LiveServer
) -> None:
    app = live_server.app
    with app.app_context():
        admin = users.create_user("ada", "admin", PASSWORD)
        project = projects.create_project("admin-e2e", ["pos", "neg"], created_by=admin)
        add_items(project, [{"id": "a1", "text": "Fine"}, {"id": "a2", "text": "Bad"}])
        pid = project.id
    page.context.add_init_script(RECORD_VIOLATIONS)

    # The admin reaches /admin from the nav and creates a user with the keyboard.
    login(page, "ada", PASSWORD)
    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#users tr[data-user='ada']")).to_be_visible()
    _type_into(page, "#new-name", "rob")
    page.keyboard.press("Tab")  # the role: rater is the default
    page.keyboard.press("Tab")
    page.keyboard.type("short")  # refused, and said next to the field
    page.keyboard.press("Enter")
    expect(page.locator("#new-password-error")).to_contain_text("password")
    expect(page.locator("#new-name")).to_have_value("rob")
    _type_into(page, "#new-password", NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("rob")
    expect(page.locator(".flash-success")).to_contain_text("User rob (rater) created")
    page.goto("/admin/")
    expect(page.locator("#users tr[data-user='rob']")).to_contain_text("rater")
    _shoot(page, "admin")
    page.goto("/admin/projects")
    expect(page.locator("#projects tr[data-project='admin-e2e']")).to_be_visible()
    _shoot(page, "admin-projects")
    page.goto("/admin/projects/new")
    _shoot(page, "admin-new-project")

    with app.app_context():
        rob = users.find_user("rob")
        rob_id = rob.id
        projects.add_member(projects.find_project(pid), rob)

    # rob logs in, labels an item with the keyboard.
    tab = _second_tab(page, live_server)
    login(tab, "rob", NEW_PASSWORD)
    tab.goto(f"/projects/{pid}/label")
    expect_item(tab, "a1")
    tab.keyboard.press("1")
    expect_item(tab, "a2")
    assert [(r[0], r[2]) for r in annotations_of(app, rob_id)] == [("a1", "pos")]

    # rob creates a token on /account (name link in the nav), uses it, revokes it.
    tab.locator(".topbar a.who").click()
    expect(tab).to_have_url(re.compile(r"/account$"))
    _type_into(tab, "#token-name", "laptop")
    tab.keyboard.press("Enter")
    token = tab.locator("#token-value").input_value()
    assert token.startswith("lbl_")
    expect(tab.locator("#new-token")).to_contain_text("shown only once")
    api = f"{live_server.url}/api/v1/projects/{pid}"
    assert _api_status(api, token) == 200
    _shoot(tab, "account-new-token")
    tab.goto("/account")
    expect(tab.locator("#token-value")).to_have_count(0)
    assert token not in tab.content()
    row = tab.locator("#token-table tr", has_text="laptop")
    expect(row).to_contain_text(token[:10])
    expect(row).not_to_contain_text("never")  # last used: just now
    _shoot(tab, "account")
    row.get_by_role("button", name=re.compile("Revoke")).focus()
    tab.keyboard.press("Enter")
    expect(tab.locator(".flash-success")).to_contain_text("revoked")
    expect(tab.locator("#token-table")).to_have_count(0)
    assert _api_status(api, token) == 401

    # The API documentation, linked from the nav.
    tab.get_by_role("link", name="API docs").click()
    expect(tab.locator("h1")).to_contain_text("labeler API")
    expect(tab.locator("#schema-NewAnnotation")).to_be_visible()
    _shoot(tab, "docs-api")

    # The admin deactivates rob: his session ends at his next request.
    page.goto(f"/admin/users/{rob_id}")
    page.locator("#deactivate").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#user-status")).to_contain_text("Deactivated")
    _shoot(page, "admin-user")
    tab.goto("/account")
    expect(tab).to_have_url(re.compile(r"/login"))
    tab.context.close()
