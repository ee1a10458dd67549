"""The strict Content-Security-Policy breaks nothing: every page loads and works in Chromium.

Violations are collected twice: ``securitypolicyviolation`` events recorded by
an init script, and Chromium's console messages about the policy.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeler.extensions import db
from labeler.models import TrainingRound
from labeler.services import projects, users
from labeler.web.security import CONTENT_SECURITY_POLICY
from tests.e2e.test_labeling_browser import (
    PASSWORD,
    add_items,
    add_raw_items,
    expect_item,
    login,
)

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _seed(app: Any) -> dict[str, int]:
    digit = [0, 0, 5, 13, 9, 1, 0, 0] * 8
    with app.app_context():
        eng = users.create_user("eve", "engineer", PASSWORD)
        text = projects.create_project(
            "csp-text", ["pos", "neg"], instructions="Read **carefully**.", created_by=eng
        )
        digits = projects.create_project("csp-digits", ["0", "1"], kind="image", created_by=eng)
        add_items(text, [{"id": "t1", "text": "I love it"}, {"id": "t2", "text": "Meh"}])
        add_raw_items(digits, [{"id": "d1", "image": digit}])
        for k, (n, acc, f1) in enumerate([(10, 0.5, 0.4), (20, 0.7, 0.65), (30, 0.8, 0.78)]):
            db.session.add(
                TrainingRound(
                    project_id=text.id,
                    status="done",
                    trigger="manual",
                    strategy="margin",
                    max_annotation_id=k,
                    n_labels=n,
                    cv_accuracy=acc,
                    cv_macro_f1=f1,
                )
            )
        db.session.commit()
        return {"text": text.id, "digits": digits.id}


def test_pages_work_under_the_strict_policy(page: Page, live_server: Any) -> None:
    ids = _seed(live_server.app)
    console: list[str] = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.context.add_init_script(RECORD_VIOLATIONS)
    headers: dict[str, str] = {}
    page.on(
        "response",
        lambda r: headers.update({r.url: r.headers.get("content-security-policy", "")}),
    )

    def check(where: str) -> None:
        page.wait_for_load_state("load")
        seen = page.evaluate("window.__csp || []")
        assert not seen and not console, f"CSP violations on {where}: {seen} {console}"
        assert headers.get(page.url) == CONTENT_SECURITY_POLICY, where

    page.goto("/login")
    check("the login page")
    login(page, "eve", PASSWORD)
    check("the index")
    expect(page.locator(".project-card")).to_have_count(2)

    page.goto(f"/projects/{ids['text']}/label")
    expect_item(page, "t1")
    expect(page.locator("#instructions strong")).to_have_text("carefully")
    page.keyboard.press("1")
    expect_item(page, "t2")
    check("the text labeling page")

    page.goto(f"/projects/{ids['digits']}/label")
    expect_item(page, "d1")
    expect(page.locator("#item canvas")).to_have_count(1)
    check("the image labeling page")

    page.goto(f"/projects/{ids['text']}")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_count(2)
    # The chart's look comes from the stylesheet (classes), not inline styles.
    stroke = chart.locator("polyline.series-acc").evaluate("e => getComputedStyle(e).stroke")
    assert stroke not in ("", "none")
    check("the project page with a learning curve")

    # The policy really is enforced: an inline script injected now is refused.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
