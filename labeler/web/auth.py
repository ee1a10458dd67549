"""Login/logout pages and the session user.

A session or remember cookie names the user *and* their ``session_version``
(``User.get_id``); the loader refuses a cookie whose version is not the current
one, so logout, a password change or deactivation end every cookie issued
before, on every device. Failed logins are limited per user name and per client
address (Flask-Limiter); successful ones cost nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from labeler.extensions import db, limiter, login
from labeler.models import User
from labeler.services import users as user_service

bp = Blueprint("auth", __name__)
# Far above any real user id; larger values would overflow PostgreSQL's integer.
_MAX_ID = 2**31 - 1


def load_user(user_id: str) -> User | None:
    """The user a cookie names, when its session version is still the current one.

    >>> load_user("no-colon") is None, load_user("\u00b9:0") is None
    (True, True)
    """
    uid, _, version = str(user_id).partition(":")
    digits = uid + version
    if not (digits.isascii() and uid.isdigit() and version.isdigit()) or int(uid) > _MAX_ID:
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def init_app(app: Flask) -> None:
    login.login_view = "auth.login"
    login.login_message = "Please log in."
    login.user_loader(load_user)


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _login_name() -> str:
    return "login-name:" + request.form.get("name", "").strip().casefold()[:200]


def _limit_per_name() -> str:
    return str(current_app.config["LABELER_LOGIN_LIMIT_PER_NAME"])


def _limit_per_ip() -> str:
    return str(current_app.config["LABELER_LOGIN_LIMIT_PER_IP"])


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limiter.limit(_limit_per_name, key_func=_login_name, methods=["POST"], deduct_when=_failed)
@limiter.limit(_limit_per_ip, methods=["POST"], deduct_when=_failed)
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
    # Give back the rater's leases and end this and every other cookie of the user.
    user_service.logout(current_user._get_current_object())
    logout_user()
    return redirect(url_for("auth.login"))
