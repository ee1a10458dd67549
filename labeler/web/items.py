"""The item browser: filter a project's items, open one to see its whole history.

For engineers, smes and admins (smes review and adjudicate; raters never see
other raters' answers). Views stay thin: parse, call :mod:`labeler.services.browse`,
render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from labeler.models import Item, Project, Role
from labeler.services import browse, neighbours
from labeler.services import projects as project_service
from labeler.services.errors import Conflict

SIMILAR_ON_PAGE = 10

bp = Blueprint("items", __name__)


def _browsable_project(pid: str) -> Project:
    """404 for non-members, then 403 for raters."""
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER, Role.SME)
    return project


@bp.get("/projects/<pid>/items")
@login_required
def item_list(pid: str) -> Any:
    project = _browsable_project(pid)
    filters = browse.parse_filter(request.args)
    page = browse.items_page(project, filters)
    return render_template(
        "items.html",
        project=project,
        filters=filters,
        page=page,
        statuses=browse.STATUSES,
        raters=browse.raters(project),
        can_manage=current_user.can(Role.ENGINEER),
    )


@bp.get("/projects/<pid>/items/<path:iid>")
@login_required
def item_page(pid: str, iid: str) -> Any:
    project = _browsable_project(pid)
    detail = browse.item_detail(project, iid)
    return render_template(
        "item.html",
        project=project,
        detail=detail,
        back=browse.parse_filter(request.args).params(),
        can_manage=current_user.can(Role.ENGINEER),
        similar=_similar(project, detail.item),
    )


def _similar(project: Project, item: Item) -> dict[str, Any]:
    """The item's nearest neighbours, or why there are none yet (a line for the page)."""
    try:
        found = neighbours.similar_items(project, item, SIMILAR_ON_PAGE)
    except Conflict as exc:
        details = exc.details or {}
        if details.get("reason") == "vectors_not_ready":
            note = (
                f"Similar items appear once this item has a stored vector: "
                f"{details['ready']} of {details['total']} items embedded so far."
            )
        else:
            note = (
                "Similar items need sentence embeddings; this project's rounds use "
                f"{'image features' if project.kind != 'text' else 'TF-IDF or hashing'}."
            )
        return {"items": [], "note": note}
    field = project.text_field
    items = [
        {
            "id": s["id"],
            "text": str(s["data"].get(field, "")) if isinstance(s["data"], dict) else "",
            "similarity": s["similarity"],
        }
        for s in found["similar"]
    ]
    return {"items": items, "note": "", "method": found["method"], "model": found["model"]}
