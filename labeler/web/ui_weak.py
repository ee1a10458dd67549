"""The SME's page: labeling functions with a live preview, their stats and coverage,
and the buttons that queue apply + fit and propagation (``static/lfs.js``).

For smes, engineers and admins of the project. The page talks to the JSON API;
item text in previews is put in the page with ``textContent`` only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from labeler.models import Role
from labeler.services import jobs
from labeler.services import projects as project_service
from labeler.services.weak import lfs, stats
from labeler.web.charts_weak import coverage_svg

bp = Blueprint("ui_weak", __name__)


def weak_summary(project: Any) -> dict[str, Any]:
    """The project page's weak-supervision card: coverage chart and the newest fit."""
    summary = stats.lf_stats(project)
    return {
        "n_lfs": len(summary["lfs"]),
        "chart": coverage_svg(summary["lfs"], (summary.get("totals") or {}).get("coverage")),
        "fit": stats.latest_run(project, "label_model"),
    }


@bp.get("/projects/<pid>/lfs")
@login_required
def lf_page(pid: str) -> Any:
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER, Role.SME)
    summary = stats.lf_stats(project)
    by_name = {row["name"]: row for row in summary["lfs"]}
    rows = []
    keys = ("coverage", "overlaps", "conflicts", "emp_accuracy", "correct", "incorrect")
    for lf in lfs.list_lfs(project):
        pending = lf["kind"] != "external" and lf["applied_upto"] is None
        figures = by_name.get(lf["name"], {})
        rows.append(
            {**lf, "pending": pending, **{k: None if pending else figures.get(k) for k in keys}}
        )
    runs = {kind: stats.latest_run(project, kind) for kind in ("label_model", "propagation")}
    return render_template(
        "lfs.html",
        project=project,
        rows=rows,
        summary=summary,
        chart=coverage_svg(summary["lfs"], (summary.get("totals") or {}).get("coverage")),
        runs=runs,
        recent=[
            j
            for j in jobs.recent_jobs(project, 10)
            if j.kind in ("weak_apply", "weak_fit", "propagate")
        ],
    )
