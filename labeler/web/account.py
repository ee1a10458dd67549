"""/account: every user's own password and API tokens.

A new token is shown once, in the response that created it (never in a flash
message: those live in the session cookie), and the page is not cached.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from labeler.extensions import db
from labeler.models import User
from labeler.services import users as user_service
from labeler.services.errors import ServiceError
from labeler.services.inputs import MIN_PASSWORD_LENGTH, NewToken, PasswordChange, check
from labeler.web.forms import field_errors, text

bp = Blueprint("account", __name__)


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _page(
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
    token_name: str = "",
    status: int = 200,
) -> Any:
    response = make_response(
        render_template(
            "account/account.html",
            tokens=user_service.list_tokens(_me()),
            errors=errors or {},
            new_token=new_token,
            token_name=token_name,
            min_password=MIN_PASSWORD_LENGTH,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account")
@login_required
def account() -> Any:
    return _page()


@bp.post("/account/password")
@login_required
def change_password() -> Any:
    form = request.form
    try:
        change = check(
            PasswordChange,
            {
                "old_password": text(form, "old_password"),
                "new_password": text(form, "new_password"),
            },
        )
        if text(form, "confirm_password") != change.new_password:
            raise ServiceError(
                "confirm_password: does not match the new password", {"field": "confirm_password"}
            )
        user_service.change_password(_me(), change.old_password, change.new_password)
    except ServiceError as exc:
        db.session.rollback()
        return _page(field_errors(exc), status=400)
    # Every older cookie just ended, this browser's too: keep this one logged in.
    login_user(_me())
    flash("Password changed. Your other sessions have ended.", "success")
    return redirect(url_for("account.account"))


@bp.post("/account/tokens")
@login_required
def create_token() -> Any:
    try:
        spec = check(NewToken, {"name": text(request.form, "name").strip()})
    except ServiceError as exc:
        return _page(field_errors(exc), token_name=request.form.get("name", "")[:200], status=400)
    record, token = user_service.issue_token(_me(), spec.name)
    return _page(new_token=token, token_name=record.name, status=201)


@bp.post("/account/tokens/<int:tid>/revoke")
@login_required
def revoke_token(tid: int) -> Any:
    token = user_service.revoke_token(_me(), tid)
    flash(f"Token {token.prefix}… revoked: it is refused from now on.", "success")
    return redirect(url_for("account.account") + "#tokens")
