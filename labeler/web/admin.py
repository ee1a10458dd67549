"""The admin pages under /admin: users, their tokens, and projects.

Users and tokens are for admins. The projects list is also for engineers (who
create projects) and smes (who export); the new-project form for engineers.
Views stay thin: parse the form into a declared input model
(``services/inputs.py``), call one service, render; a refused form comes back
with each message next to its field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labeler.extensions import db
from labeler.models import Role
from labeler.services import exporting
from labeler.services import projects as project_service
from labeler.services import users as user_service
from labeler.services.errors import ServiceError
from labeler.services.inputs import (
    KIND_NAMES,
    MAX_LABELS,
    ROLE_NAMES,
    STRATEGY_NAMES,
    NewProject,
    NewUser,
    UserPatch,
    check,
)
from labeler.web.forms import field_errors, role_required, text, whole_number

bp = Blueprint("admin", __name__)


def _users_page(errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Any:
    return render_template(
        "admin/users.html",
        users=user_service.list_users(),
        last_use=user_service.last_token_use(),
        roles=ROLE_NAMES,
        errors=errors or {},
        values=values or {},
    ), status


@bp.get("/")
@role_required(Role.ADMIN)
def users() -> Any:
    return _users_page()


@bp.post("/users")
@role_required(Role.ADMIN)
def create_user() -> Any:
    form = request.form
    try:
        spec = check(
            NewUser,
            {
                "name": text(form, "name"),
                "role": form.get("role", ""),
                "password": text(form, "password"),
            },
        )
        user = user_service.create_user(spec.name, spec.role, spec.password, enforce_policy=True)
    except ServiceError as exc:
        db.session.rollback()
        return _users_page(
            field_errors(exc), {"name": form.get("name", ""), "role": form.get("role")}, 400
        )
    flash(f"User {user.name} ({user.role}) created.", "success")
    return redirect(url_for("admin.user_page", uid=user.id))


def _user_page(uid: int, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    user = user_service.find_user(uid)
    return render_template(
        "admin/user.html",
        user=user,
        tokens=user_service.list_tokens(user),
        roles=ROLE_NAMES,
        errors=errors or {},
        is_self=user.id == current_user.id,
    ), status


@bp.get("/users/<int:uid>")
@role_required(Role.ADMIN)
def user_page(uid: int) -> Any:
    return _user_page(uid)


def _patch_from(form: Any) -> dict[str, Any]:
    """Only the fields the submitted form carries (each form on the page sends one)."""
    fields: dict[str, Any] = {}
    if "role" in form:
        fields["role"] = form["role"]
    if "active" in form:
        fields["active"] = {"1": True, "0": False}.get(form["active"], form["active"])
    if "password" in form:
        fields["password"] = text(form, "password")
    return fields


@bp.post("/users/<int:uid>")
@role_required(Role.ADMIN)
def update_user(uid: int) -> Any:
    user = user_service.find_user(uid)
    try:
        patch = check(UserPatch, _patch_from(request.form))
        user_service.update_user(current_user._get_current_object(), user, patch)
    except ServiceError as exc:
        db.session.rollback()
        return _user_page(uid, field_errors(exc), 400)
    changed = ", ".join(sorted(patch.changes()))
    flash(f"{user.name}: {changed} saved.", "success")
    return redirect(url_for("admin.user_page", uid=user.id))


@bp.post("/users/<int:uid>/tokens/<int:tid>/revoke")
@role_required(Role.ADMIN)
def revoke_token(uid: int, tid: int) -> Any:
    user = user_service.find_user(uid)
    token = user_service.revoke_token(user, tid)
    flash(f"Token {token.prefix}… of {user.name} revoked.", "success")
    return redirect(url_for("admin.user_page", uid=user.id) + "#tokens")


@bp.get("/projects")
@role_required(Role.ENGINEER, Role.SME)
def projects() -> Any:
    rows = [
        {"project": p, "progress": project_service.project_progress(p)}
        for p in project_service.visible_projects(current_user)
    ]
    return render_template(
        "admin/projects.html",
        rows=rows,
        can_manage=current_user.can(Role.ENGINEER),
        export_formats=list(exporting.FORMATS),
    )


def _new_project_page(
    errors: dict[str, str] | None = None, values: Any = None, status: int = 200
) -> Any:
    return render_template(
        "admin/new_project.html",
        kinds=KIND_NAMES,
        strategies=STRATEGY_NAMES,
        max_labels=MAX_LABELS,
        errors=errors or {},
        values=values or {"overlap": "1", "kind": "text", "strategy": "random"},
    ), status


@bp.get("/projects/new")
@role_required(Role.ENGINEER)
def new_project() -> Any:
    return _new_project_page()


@bp.post("/projects/new")
@role_required(Role.ENGINEER)
def create_project() -> Any:
    form = request.form
    labels = [line.strip() for line in text(form, "labels").split("\n") if line.strip()]
    try:
        spec = check(
            NewProject,
            {
                "name": text(form, "name"),
                "labels": labels,
                "kind": form.get("kind", ""),
                "overlap": whole_number(form, "overlap", 1),
                "strategy": form.get("strategy", ""),
                "instructions": text(form, "instructions"),
            },
        )
        project = project_service.create_project(
            spec, created_by=current_user._get_current_object()
        )
    except ServiceError as exc:
        db.session.rollback()
        return _new_project_page(field_errors(exc), form.to_dict(), 400)
    keys = ", ".join(f"{lb.hotkey} = {lb.name}" for lb in project.labels)
    flash(
        f"Project {project.name} created; hotkeys {keys}. Add members and import items here.",
        "success",
    )
    return redirect(url_for("ui.project_page", pid=project.id))
