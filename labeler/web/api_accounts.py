"""REST API v1 for accounts: one's own tokens, password and sessions; users for admins.

Declared like every API view (:func:`labeler.web.openapi.declare`): the input
models in ``services/inputs.py`` validate the bodies and, with the output
models of ``web/schemas.py``, describe the routes in the OpenAPI document. The
rules themselves (what revoking or deactivating ends) live in
``services/users.py``, shared with the CLI.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask_login import login_user, logout_user

from labeler.extensions import csrf
from labeler.models import Role, User
from labeler.services import users as user_service
from labeler.services.inputs import INT32_MAX
from labeler.web import schemas as s
from labeler.web.api import authenticated
from labeler.web.openapi import declare

bp = Blueprint("api_accounts", __name__)
# As in api.py: token clients carry no cookie to forge; ``authenticated`` checks session clients.
csrf.exempt(bp)

# Path ids beyond a 32-bit column are no row: the router answers 404 itself.
ROW_ID = f"int(min=1, max={INT32_MAX})"


def _by_bearer() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


@bp.get("/me/tokens")
@authenticated
@declare("My live API tokens (never the tokens themselves)", responses={200: s.TokenList})
def list_my_tokens() -> Any:
    tokens = user_service.list_tokens(g.user)
    return jsonify({"tokens": [user_service.token_dict(t) for t in tokens]})


@bp.post("/me/tokens")
@authenticated
@declare(
    "Create an API token; the response shows it once",
    body=s.NewToken,
    responses={201: s.NewTokenOut},
)
def create_my_token(body: s.NewToken) -> Any:
    record, token = user_service.issue_token(g.user, body.name)
    return jsonify({**user_service.token_dict(record), "token": token}), 201


@bp.delete(f"/me/tokens/<{ROW_ID}:token_id>")
@authenticated
@declare("Revoke one of my tokens; it gets 401 from the next request", responses={204: None})
def revoke_my_token(token_id: int) -> Any:
    user_service.revoke_token(g.user, token_id)
    return "", 204


@bp.post("/me/password")
@authenticated
@declare(
    "Change my password (ends my other sessions)", body=s.PasswordChange, responses={204: None}
)
def change_my_password(body: s.PasswordChange) -> Any:
    user: User = g.user
    user_service.change_password(user, body.old_password, body.new_password)
    if not _by_bearer():
        # Every older cookie just ended; keep the browser that made the change logged in.
        login_user(user)
    return "", 204


@bp.delete("/me/sessions")
@authenticated
@declare(
    "Log out everywhere: every session and remember cookie ends (tokens stay)",
    responses={204: None},
)
def end_my_sessions() -> Any:
    user_service.logout(g.user)
    if not _by_bearer():
        logout_user()
    return "", 204


@bp.get("/users")
@authenticated
@declare("All users (admins)", responses={200: s.UserList}, roles=(Role.ADMIN,))
def list_users() -> Any:
    return jsonify({"users": [user_service.user_dict(u) for u in user_service.list_users()]})


@bp.post("/users")
@authenticated
@declare(
    "Create a user (admins)",
    body=s.NewUser,
    responses={201: s.User},
    roles=(Role.ADMIN,),
    errors=(409,),
)
def create_user(body: s.NewUser) -> Any:
    user = user_service.create_user(body.name, body.role, body.password, enforce_policy=True)
    return jsonify(user_service.user_dict(user)), 201


@bp.patch(f"/users/<{ROW_ID}:user_id>")
@authenticated
@declare(
    "Activate or deactivate, change the role, reset the password (admins)",
    body=s.UserPatch,
    responses={200: s.User},
    roles=(Role.ADMIN,),
)
def patch_user(user_id: int, body: s.UserPatch) -> Any:
    user = user_service.update_user(g.user, user_service.find_user(user_id), body)
    return jsonify(user_service.user_dict(user))
