"""The OpenAPI 3.1 document for /api/v1, generated so it cannot drift.

Each API view is declared with :func:`declare`: its summary, the model its JSON
body (or multipart form, or query string) is validated with, and the model of
each response it can return. The same :class:`Operation` object validates the
request at run time and describes the route in the document; the paths come
from Flask's URL map and the schemas from the pydantic models' JSON Schema.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, Union

from flask import current_app, g, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from labeler import __version__
from labeler.models import Role
from labeler.services import projects
from labeler.services.inputs import check, check_json
from labeler.web.schemas import PATH_PARAMETERS, Error

# A response: a model (JSON), None (no body), or {media type: model or None}.
ResponseSpec = Union[type[BaseModel], None, Mapping[str, Union[type[BaseModel], None]]]  # noqa: UP007

SchemaMode = Literal["validation", "serialization"]

ERRORS: dict[int, str] = {
    400: "Bad input: the error names the field (details.field) or line",
    401: "No or invalid token",
    403: "The user's role may not do this",
    404: "No such project, item or job (or not a member)",
    409: "Conflict with the current state",
    413: "Request body too large",
}


@dataclass(frozen=True)
class Operation:
    """What one view accepts and answers; both validation and documentation."""

    summary: str
    responses: Mapping[int, ResponseSpec]
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    roles: tuple[Role, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False

    def error_statuses(self, path: str, method: str) -> list[int]:
        """The errors this operation can answer, derived from what it declares."""
        found = set(self.errors)
        if not self.public:
            found.add(401)
            if method != "get":
                found.add(400)  # CSRF for session clients
        if "{" in path:
            found.add(404)
        if self.roles:
            found.add(403)
        if self.body or self.form or self.query:
            found.add(400)
        if self.body or self.form:
            found.add(413)
        return sorted(found)

    def models(self) -> list[tuple[type[BaseModel], SchemaMode]]:
        """Every model this operation names, with its JSON Schema mode."""
        out: list[tuple[type[BaseModel], SchemaMode]] = [
            (m, "validation") for m in (self.body, self.form, self.query) if m is not None
        ]
        for spec in self.responses.values():
            media = spec if isinstance(spec, Mapping) else {"application/json": spec}
            out.extend((m, "serialization") for m in media.values() if m is not None)
        if not self.public:
            out.append((Error, "serialization"))
        return out


def declare(
    summary: str,
    *,
    responses: Mapping[int, ResponseSpec],
    body: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    roles: tuple[Role, ...] = (),
    errors: tuple[int, ...] = (),
    public: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a view: check and validate its request as declared here, and document it.

    Checks run in a fixed order, so a request that is wrong in several ways gets the
    same answer everywhere: 401 (by ``authenticated``, outside), 404 (the project of
    ``<pid>``, passed as ``project=``), 403 (``roles``), then 400 (the models). The
    view receives ``body=`` (a JSON body), ``form=`` (a multipart form, when the
    request is one) and ``query=`` (the query string) as validated models.
    """
    op = Operation(summary, responses, body, form, query, roles, errors, public)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if "pid" in kwargs:
                kwargs["project"] = projects.project_for(g.user, kwargs.pop("pid"))
            if roles:
                projects.require_role(g.user, *roles)
            if query is not None:
                kwargs["query"] = check(query, request.args.to_dict())
            if form is not None and request.mimetype == "multipart/form-data":
                kwargs["form"] = check(form, {**request.form.to_dict(), **request.files.to_dict()})
            elif body is not None:
                kwargs["body"] = check_json(body, request.get_data())
            return view(*args, **kwargs)

        wrapper.operation = op  # type: ignore[attr-defined]
        return wrapper

    return decorator


def operations() -> list[tuple[str, str, Operation]]:
    """(OpenAPI path, method, operation) for every declared /api/ route of the app."""
    found = []
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        op = getattr(view, "operation", None)
        if not rule.rule.startswith("/api/") or op is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), op))
    return found


def _ref(model: type[BaseModel], refs: Mapping[Any, Any], mode: str) -> dict[str, Any]:
    return dict(refs[(model, mode)])


def _responses(op: Operation, refs: Mapping[Any, Any], path: str, method: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, spec in op.responses.items():
        entry: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        media = spec if isinstance(spec, Mapping) else {"application/json": spec}
        content = {
            mt: {"schema": _ref(m, refs, "serialization")} if m is not None else {}
            for mt, m in media.items()
            if m is not None or isinstance(spec, Mapping)
        }
        if content:
            entry["content"] = content
        out[str(status)] = entry
    for status in op.error_statuses(path, method):
        out[str(status)] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": _ref(Error, refs, "serialization")}},
        }
    if op.query:
        # A query string can make the request line longer than the HTTP server reads
        # (gunicorn: 4094 bytes); it answers before the app, not with an Error body.
        out["414"] = {"description": "Request line too long (refused by the HTTP server)"}
    return out


def _operation(path: str, method: str, op: Operation, refs: Mapping[Any, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "responses": _responses(op, refs, path, method)}
    params = [
        {"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]}
        for name in re.findall(r"{([^}]+)}", path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        params.extend(
            {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", []),
                "schema": s,
            }
            for name, s in schema["properties"].items()
        )
    if params:
        doc["parameters"] = params
    content: dict[str, Any] = {}
    if op.body is not None:
        content["application/json"] = {"schema": _ref(op.body, refs, "validation")}
    if op.form is not None:
        content["multipart/form-data"] = {"schema": _ref(op.form, refs, "validation")}
    if content:
        doc["requestBody"] = {"required": True, "content": content}
    if op.public:
        doc["security"] = []
    return doc


def openapi_document() -> dict[str, Any]:
    """The document for the current app, built from its declared operations."""
    ops = operations()
    models = list(dict.fromkeys(m for _, _, op in ops for m in op.models()))
    refs, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for path, method, op in ops:
        paths.setdefault(path, {})[method] = _operation(path, method, op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "labeler API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
