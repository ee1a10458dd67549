"""The adjudication page: an sme (or engineer, admin) settles disputed items by keyboard.

The view renders the frame (labels, hotkeys, help); ``static/adjudicate.js`` pages
through ``GET /api/v1/projects/<pid>/adjudication`` and decides with ``POST
.../items/<iid>/adjudication``, putting item data in the page with ``textContent``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from labeler.models import Role
from labeler.services import projects as project_service
from labeler.services.quality import mislabels

bp = Blueprint("ui_adjudicate", __name__)

#: Keys the page itself uses: a label with one of these hotkeys is picked by click or Tab.
RESERVED_KEYS = ("j", "k", "n", "?")


@bp.get("/projects/<pid>/adjudicate")
@login_required
def adjudicate(pid: str) -> Any:
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER, Role.SME)
    page = {
        "id": project.id,
        "name": project.name,
        "text_field": project.text_field,
        "labels": [
            {"name": lb.name, "hotkey": lb.hotkey if lb.hotkey not in RESERVED_KEYS else ""}
            for lb in project.labels
        ],
    }
    return render_template(
        "adjudicate.html",
        project=project,
        page=page,
        can_manage=current_user.can(Role.ENGINEER),
    )


@bp.post("/projects/<pid>/mislabels")
@login_required
def find_mislabels(pid: str) -> Any:
    """Queue the likely-mislabel search; its flags join this page's queue when it is done."""
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER, Role.SME)
    job = mislabels.request_job(project, current_user)
    flash(
        f"Looking for likely mislabels (job {job.id}); what it finds joins this queue.",
        "success",
    )
    return redirect(url_for("ui_adjudicate.adjudicate", pid=project.id))
