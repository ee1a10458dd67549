"""REST API v1 for accounts: one's own tokens and password, and users for admins.

Each request body has one declared pydantic shape (``extra`` fields refused,
lengths bounded); a body that does not fit is a 400 naming the field. The
rules themselves (password length, what revoking or deactivating ends) live in
``services/users.py``, shared with the CLI.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from flask import Blueprint, g, jsonify, request
from flask_login import login_user, logout_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labeler.extensions import csrf
from labeler.models import User
from labeler.services import users as user_service
from labeler.services.errors import BadInput, Forbidden, NotFound
from labeler.services.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from labeler.web.api import authenticated

bp = Blueprint("api_accounts", __name__)
# As in api.py: token clients carry no cookie to forge; ``authenticated`` checks session clients.
csrf.exempt(bp)

_MAX_ID = 2**31 - 1
RoleName = Literal["admin", "engineer", "sme", "rater"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenCreate(_Body):
    """``POST /me/tokens``."""

    name: str = Field(default="", max_length=80)


class PasswordChange(_Body):
    """``POST /me/password``."""

    old_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserCreate(_Body):
    """``POST /users`` (admins)."""

    name: str = Field(min_length=1, max_length=80)
    role: RoleName = "rater"
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class UserPatch(_Body):
    """``PATCH /users/<id>`` (admins); at least one field."""

    active: bool | None = None
    role: RoleName | None = None
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class TokenOut(BaseModel):
    """A token as its owner sees it (never the hash)."""

    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None


class TokenCreated(TokenOut):
    """``POST /me/tokens`` 201: the clear-text token, shown this once."""

    token: str


class TokenList(BaseModel):
    tokens: list[TokenOut]


class UserOut(BaseModel):
    id: int
    name: str
    role: RoleName
    active: bool
    created_at: str


class UserList(BaseModel):
    users: list[UserOut]


Body = TypeVar("Body", bound=_Body)


def parse_body(shape: type[Body]) -> Body:
    """The request's JSON object as ``shape``; BadInput naming the first bad field."""
    try:
        raw = request.get_json(silent=True)
    except RecursionError:
        raw = None
    if raw is None and not request.get_data(cache=True) and shape.model_fields:
        raw = {}
    if not isinstance(raw, dict):
        raise BadInput("expected a JSON object body", {"field": None})
    try:
        return shape.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"]),
                "message": err["msg"],
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
        first = errors[0]
        raise BadInput(
            f"{first['field']}: {first['message']}", {"field": first["field"], "errors": errors}
        ) from None


def _require_admin() -> None:
    if not g.user.is_admin:
        raise Forbidden("only admins manage users")


def _id(raw: str, what: str) -> int:
    """A path id; anything that cannot be one is a 404, like a missing row."""
    if not raw.isascii() or not raw.isdigit() or int(raw) > _MAX_ID:
        raise NotFound(f"no {what} {raw!r}")
    return int(raw)


def _by_bearer() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


@bp.get("/me/tokens")
@authenticated
def list_my_tokens() -> Any:
    tokens = user_service.list_tokens(g.user)
    return jsonify({"tokens": [user_service.token_dict(t) for t in tokens]})


@bp.post("/me/tokens")
@authenticated
def create_my_token() -> Any:
    body = parse_body(TokenCreate)
    record, token = user_service.issue_token(g.user, body.name)
    return jsonify({**user_service.token_dict(record), "token": token}), 201


@bp.delete("/me/tokens/<token_id>")
@authenticated
def revoke_my_token(token_id: str) -> Any:
    user_service.revoke_token(g.user, _id(token_id, "token"))
    return "", 204


@bp.post("/me/password")
@authenticated
def change_my_password() -> Any:
    body = parse_body(PasswordChange)
    user: User = g.user
    user_service.change_password(user, body.old_password, body.new_password)
    if not _by_bearer():
        # Every older cookie just ended; keep the browser that made the change logged in.
        login_user(user)
    return "", 204


@bp.delete("/me/sessions")
@authenticated
def end_my_sessions() -> Any:
    """Log out everywhere: every session and remember cookie ends (tokens stay)."""
    user_service.logout(g.user)
    if not _by_bearer():
        logout_user()
    return "", 204


@bp.get("/users")
@authenticated
def list_users() -> Any:
    _require_admin()
    return jsonify({"users": [user_service.user_dict(u) for u in user_service.list_users()]})


@bp.post("/users")
@authenticated
def create_user() -> Any:
    _require_admin()
    body = parse_body(UserCreate)
    user = user_service.create_user(body.name, body.role, body.password, enforce_policy=True)
    return jsonify(user_service.user_dict(user)), 201


@bp.patch("/users/<user_id>")
@authenticated
def patch_user(user_id: str) -> Any:
    _require_admin()
    body = parse_body(UserPatch)
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise BadInput("give at least one of active, role, password", {"field": None})
    for name, value in fields.items():
        if value is None:
            raise BadInput(f"{name} must not be null", {"field": name})
    user = user_service.find_user(_id(user_id, "user"))
    if user.id == g.user.id and (fields.get("active") is False or "role" in fields):
        raise BadInput(
            "admins cannot deactivate or demote themselves",
            {"field": "active" if "active" in fields else "role"},
        )
    if "role" in fields:
        user_service.set_role(user, fields["role"])
    if "password" in fields:
        user_service.set_password(user, fields["password"])
    if "active" in fields:
        user_service.set_active(user, fields["active"])
    return jsonify(user_service.user_dict(user))


# ---------------------------------------------------------------- OpenAPI
# The document lives in web/openapi.py; these are this module's paths and
# components, generated from the shapes above, for it to merge.
_SHAPES: tuple[type[BaseModel], ...] = (
    TokenCreate,
    PasswordChange,
    UserCreate,
    UserPatch,
    TokenOut,
    TokenCreated,
    TokenList,
    UserOut,
    UserList,
)


def openapi_schemas() -> dict[str, Any]:
    """JSON Schemas of this module's request and response shapes, by name."""
    out: dict[str, Any] = {}
    for shape in _SHAPES:
        schema = shape.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[shape.__name__] = schema
    return out


def openapi_paths() -> dict[str, Any]:
    """OpenAPI path items for this module's routes (paths relative to the server root).

    >>> sorted(openapi_paths())[:2]
    ['/api/v1/me/password', '/api/v1/me/sessions']
    """

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": ref(name)}}}

    def ok(name: str | None, status: str = "200") -> dict[str, Any]:
        if name is None:
            return {status: {"description": "Done, no body"}}
        content = {"application/json": {"schema": ref(name)}}
        return {status: {"description": "OK", "content": content}}

    def op(summary: str, responses: dict[str, Any], errors: str, **extra: Any) -> dict[str, Any]:
        error = {"content": {"application/json": {"schema": ref("Error")}}}
        codes = {c: {"description": "Error", **error} for c in errors.split()}
        return {"summary": summary, "responses": {**responses, **codes}, **extra}

    def path_id(name: str) -> list[dict[str, Any]]:
        return [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}]

    return {
        "/api/v1/me/tokens": {
            "get": op("My live API tokens (never the token itself)", ok("TokenList"), "401"),
            "post": op(
                "Create an API token; the response shows it once",
                ok("TokenCreated", "201"),
                "400 401",
                requestBody=body("TokenCreate"),
            ),
        },
        "/api/v1/me/tokens/{token_id}": {
            "delete": op(
                "Revoke one of my tokens; it gets 401 from the next request",
                ok(None, "204"),
                "401 404",
                parameters=path_id("token_id"),
            )
        },
        "/api/v1/me/password": {
            "post": op(
                "Change my password (ends my other sessions)",
                ok(None, "204"),
                "400 401",
                requestBody=body("PasswordChange"),
            )
        },
        "/api/v1/me/sessions": {
            "delete": op(
                "Log out everywhere: every session and remember cookie ends (tokens stay)",
                ok(None, "204"),
                "401",
            )
        },
        "/api/v1/users": {
            "get": op("All users (admins)", ok("UserList"), "401 403"),
            "post": op(
                "Create a user (admins)",
                ok("UserOut", "201"),
                "400 401 403 409",
                requestBody=body("UserCreate"),
            ),
        },
        "/api/v1/users/{user_id}": {
            "patch": op(
                "Activate or deactivate, change the role, reset the password (admins)",
                ok("UserOut"),
                "400 401 403 404",
                parameters=path_id("user_id"),
                requestBody=body("UserPatch"),
            )
        },
    }
