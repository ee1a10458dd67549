"""The item browser: filter a project's items, open one to see its whole history.

For engineers, smes and admins (smes review and adjudicate; raters never see
other raters' answers). Views stay thin: parse, call :mod:`labeler.services.browse`,
render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labeler.extensions import db
from labeler.models import Item, Project, Role
from labeler.services import browse, gold, neighbours
from labeler.services import projects as project_service
from labeler.services.errors import Conflict, ServiceError
from labeler.services.inputs import ITEM_ID_MAX, is_reference

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
        gold_label=gold.gold_of(project, detail.item),
    )


@bp.post("/projects/<pid>/gold")
@login_required
def set_gold(pid: str) -> Any:
    """The item page's gold form (engineers, admins): set or clear an item's known answer."""
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER)
    ref = request.form.get("item", "")
    if not is_reference(ref, ITEM_ID_MAX):
        flash("Gold not changed: no such item.", "error")
        return redirect(url_for("items.item_list", pid=project.id))
    try:
        if request.form.get("action") == "clear":
            gold.unmark(project, ref)
            flash("Not a gold item any more.", "success")
        else:
            marked = gold.mark(project, ref, request.form.get("label", ""))
            flash(f"Gold item: the known answer is {marked['label']}.", "success")
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Gold not changed: {exc.message}", "error")
    return redirect(url_for("items.item_page", pid=project.id, iid=ref) + "#gold")


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
