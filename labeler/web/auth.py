"""Login/logout pages, session users, and bearer tokens for the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from labeler.extensions import db, login
from labeler.models import User
from labeler.services import users as user_service

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = "Please log in."

    @login.user_loader
    def _load(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page() -> Any:
    if request.method == "POST":
        name = request.form.get("name", "")
        password = request.form.get("password", "")
        user = user_service.authenticate(name, password)
        if user is None:
            flash("Wrong name or password.", "error")
            return render_template("login.html", name=name), 401
        login_user(user, remember=bool(request.form.get("remember")))
        target = request.args.get("next") or ""
        # Only same-site redirects.
        if not target.startswith("/") or urlsplit(target).netloc:
            target = url_for("ui.index")
        return redirect(target)
    if current_user.is_authenticated:
        return redirect(url_for("ui.index"))
    return render_template("login.html", name="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    from labeler.services import assignment
    from labeler.services.projects import visible_projects

    # Give back what the rater was holding instead of letting the leases run out.
    for project in visible_projects(current_user):
        assignment.release(project, current_user)
    logout_user()
    return redirect(url_for("auth.login"))
