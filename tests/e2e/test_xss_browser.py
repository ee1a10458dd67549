"""Instructions cannot run script in a reader's browser (issue 6, finding 1).

The payloads are links whose ``javascript:`` scheme is hidden behind HTML
entities; Python-Markdown decodes them into a working ``href``, which the old
hand-written filter let through. The test clicks each link in real Chromium.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.services import importing, projects, users
from tests.e2e.test_labeling_browser import login

pytestmark = pytest.mark.e2e

PAYLOADS = [
    "[colon](javascript&colon;window.__pwned=1)",
    "[dec](javascript&#58;window.__pwned=2)",
    "[hex](javascript&#x3a;window.__pwned=3)",
    "[tab](java&#9;script:window.__pwned=4)",
    "[ok](https://example.org/)",
]


def test_instruction_links_never_run_script(page: Page, live_server: Any) -> None:
    with live_server.app.app_context():
        rater = users.create_user("xena", "rater", "pw-xena-1")
        project = projects.create_project(
            "xss", ["a", "b"], instructions="Read:\n\n" + "\n\n".join(PAYLOADS)
        )
        projects.add_member(project, rater)
        importing.import_records(project, [{"id": "i1", "text": "hello"}])
        pid = project.id
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, "xena", "pw-xena-1")
    page.goto(f"/projects/{pid}/label")
    box = page.locator("#instructions")
    expect(box).to_be_visible()
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    for name in ("colon", "dec", "hex", "tab"):
        link = box.locator("a", has_text=name)
        expect(link).to_have_count(1)
        link.click()
        assert page.evaluate("window.__pwned") is None, f"{name} ran script"
        href = link.get_attribute("href")
        assert href is None or not href.lower().lstrip().startswith("javascript"), href
    assert dialogs == []
    safe = box.locator("a", has_text="ok")
    assert safe.get_attribute("href") == "https://example.org/"
