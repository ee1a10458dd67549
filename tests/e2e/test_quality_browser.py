"""The label-quality section of the engineer's page in a real browser, at 390 px (issue 10).

Six raters, three answers per item, one careless rater: the section shows the
model next to human-level performance, flags the careless rater, draws the
kappa heatmap inside the screen, and breaks no CSP rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from labeler.extensions import db
from labeler.models import TrainingRound
from labeler.services import assignment, projects, users
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS
from tests.e2e.test_labeling_browser import PASSWORD, add_items, login
from tests.e2e.test_project_page_browser import SHOTS, _no_csp_violations, _shot

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> int:
    rng = np.random.default_rng(0)
    with app.app_context():
        eng = users.create_user("eve", "engineer", PASSWORD)
        project = projects.create_project("quality", ["pos", "neg", "neutral"], overlap=3)
        projects.add_member(project, eng)
        add_items(project, [{"id": f"q{k}", "text": f"text {k}"} for k in range(60)])
        raters = [users.create_user(f"rater-{n}", "rater", PASSWORD) for n in range(6)]
        for k in range(60):
            truth = k % 3
            for r in rng.choice(6, 3, replace=False):
                good = r != 5 and rng.random() < 0.9
                label = truth if good else int(rng.integers(0, 3))
                assignment.answer(
                    project, raters[r], f"q{k}", ["pos", "neg", "neutral"][label], duration_ms=1500
                )
        db.session.add(
            TrainingRound(
                project_id=project.id,
                status="done",
                strategy="random",
                n_labels=60,
                cv_accuracy=0.7,
            )
        )
        db.session.commit()
        return project.id


def test_quality_section_at_390(page: Page, live_server: Any) -> None:
    pid = _seed(live_server.app)
    page.context.add_init_script(RECORD_VIOLATIONS)
    login(page, "eve", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{pid}#quality")
    expect(page.locator("#model-vs-hlp")).to_contain_text("Human-level")
    expect(page.locator("#model-vs-hlp")).to_contain_text("0.700")
    expect(page.locator("#rater-quality tr.flagged")).to_contain_text("rater-5")
    heatmap = page.locator("svg.kappa-heatmap")
    expect(heatmap).to_be_visible()
    box = heatmap.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the project page is {width}px wide at 390"
    page.locator("#quality").scroll_into_view_if_needed()
    _shot(page, "quality-390.png")
    page.locator("#quality").screenshot(path=str(SHOTS / "quality-section-390.png"))
    _no_csp_violations(page, "the quality section")
