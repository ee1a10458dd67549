"""REST API v1: JSON in, JSON out, ``Authorization: Bearer TOKEN``.

The labeling page uses the same routes with its session cookie (and a CSRF header).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, stream_with_context
from flask_login import current_user

from labeler.extensions import csrf, db
from labeler.models import Job, Role, User
from labeler.services import assignment, exporting, importing, jobs, training
from labeler.services import projects as project_service
from labeler.services import users as user_service
from labeler.services.errors import BadInput, NotFound, ServiceError

bp = Blueprint("api", __name__)
# Token clients carry no cookie to forge; session clients are checked in ``authenticated``.
csrf.exempt(bp)


def _bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = user_service.user_for_token(header[len("Bearer ") :].strip())
    if user is None:
        raise ServiceError("invalid or revoked API token", code="unauthorized")
    return user


def authenticated(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            user = _bearer_user()
        except ServiceError as exc:
            return jsonify(exc.as_dict()), 401
        if user is None:
            if not current_user.is_authenticated:
                body = {
                    "error": {
                        "code": "unauthorized",
                        "message": "log in or send a bearer token",
                        "details": None,
                    }
                }
                return jsonify(body), 401
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                csrf.protect()
            user = current_user._get_current_object()
        g.user = user
        return view(*args, **kwargs)

    return wrapper


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("expected a JSON object body")
    return body


@bp.get("/openapi.json")
def openapi() -> Any:
    from labeler.web.openapi import openapi_document

    return jsonify(openapi_document())


@bp.get("/me")
@authenticated
def me() -> Any:
    user: User = g.user
    return jsonify({"id": user.id, "name": user.name, "role": user.role})


@bp.get("/projects")
@authenticated
def list_projects() -> Any:
    return jsonify(
        {
            "projects": [
                project_service.project_dict(p) for p in project_service.visible_projects(g.user)
            ]
        }
    )


@bp.post("/projects")
@authenticated
def create_project() -> Any:
    project_service.require_role(g.user, Role.ENGINEER)
    body = _json_body()
    overlap = body.get("overlap", 1)
    project = project_service.create_project(
        body.get("name", ""),
        body.get("labels") or [],
        kind=body.get("kind", "text"),
        overlap=overlap,
        strategy=body.get("strategy", "random"),
        instructions=body.get("instructions", ""),
        lease_seconds=int(body.get("lease_seconds", 600)),
        text_field=body.get("text_field", "text"),
        retrain_every=int(body.get("retrain_every", 20)),
        created_by=g.user,
    )
    return jsonify(project_service.project_dict(project)), 201


@bp.get("/projects/<pid>")
@authenticated
def get_project(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    out = project_service.project_dict(project)
    out["progress"] = project_service.project_progress(project, g.user)
    return jsonify(out)


@bp.patch("/projects/<pid>")
@authenticated
def patch_project(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    project_service.require_role(g.user, Role.ENGINEER)
    project_service.update_project(project, **_json_body())
    return jsonify(project_service.project_dict(project))


@bp.post("/projects/<pid>/members")
@authenticated
def add_member(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    project_service.require_role(g.user, Role.ENGINEER)
    user = user_service.find_user(_json_body().get("user", ""))
    added = project_service.add_member(project, user)
    return jsonify(
        {"project": project.id, "user": user.name, "added": added}
    ), 201 if added else 200


@bp.get("/projects/<pid>/progress")
@authenticated
def progress(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    return jsonify(project_service.project_progress(project, g.user))


@bp.post("/projects/<pid>/items")
@authenticated
def import_items(pid: str) -> Any:
    """Import items: a JSON list in the body, or a file upload (field ``file``)."""
    project = project_service.project_for(g.user, pid)
    project_service.require_role(g.user, Role.ENGINEER)
    if request.files:
        upload = request.files.get("file")
        if upload is None:
            raise BadInput("upload the file in the form field 'file'", {"field": "file"})
        fmt = request.form.get("format") or importing.guess_format(upload.filename or "")
        if request.form.get("async") in ("1", "true"):
            job = jobs.enqueue_import(
                project, upload.stream, upload.filename or "upload", fmt, g.user
            )
            return jsonify(job.as_dict()), 202
        result = importing.import_file(project, upload.stream, fmt)
        return jsonify(result.as_dict()), 201
    body = request.get_json(silent=True)
    if isinstance(body, dict) and "items" in body:
        body = body["items"]
    if not isinstance(body, list):
        raise BadInput("send a JSON list of items or upload a file in the field 'file'")
    result = importing.import_records(project, body)
    return jsonify(result.as_dict()), 201


@bp.get("/projects/<pid>/items/<path:iid>")
@authenticated
def get_item(pid: str, iid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    item = assignment.find_item(project, iid)
    return jsonify({"item": assignment.item_dict(project, item)})


@bp.get("/projects/<pid>/next")
@authenticated
def next_item(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    got = assignment.next_item(project, g.user)
    if got is None:
        return Response(status=204)
    return jsonify(
        {
            "item": assignment.item_dict(project, got.item),
            "lease_expires_at": got.expires_at.isoformat(),
        }
    )


@bp.post("/projects/<pid>/items/<path:iid>/annotations")
@authenticated
def annotate(pid: str, iid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    body = _json_body()
    answered = assignment.answer(
        project,
        g.user,
        iid,
        body.get("label"),
        kind=body.get("kind"),
        duration_ms=body.get("duration_ms"),
        origin="ui" if request.headers.get("X-Labeler-Client") == "ui" else "api",
    )
    if not answered.round_in_flight:
        training.maybe_trigger(project)
    return jsonify(answered.as_dict()), 201


@bp.post("/projects/<pid>/undo")
@authenticated
def undo(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    got = assignment.undo_last(project, g.user)
    return jsonify(
        {
            "item": assignment.item_dict(project, got.item),
            "lease_expires_at": got.expires_at.isoformat(),
        }
    )


@bp.get("/projects/<pid>/export")
@authenticated
def export(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    project_service.require_role(g.user, Role.ENGINEER, Role.SME)
    fmt = request.args.get("format", "jsonl")
    if fmt not in exporting.FORMATS:
        raise BadInput(
            f"unknown export format {fmt!r}",
            {"field": "format", "allowed": list(exporting.FORMATS)},
        )
    mimetype = exporting.FORMATS[fmt]
    # The generator runs after this view returns: keep its own app context.
    lines = exporting.export_lines(project.id, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{project.name}.{fmt}"'}
    return Response(stream_with_context(lines), mimetype=mimetype, headers=headers)


@bp.post("/projects/<pid>/al/run")
@authenticated
def al_run(pid: str) -> Any:
    """Queue an active-learning round now (coalesces with one in flight)."""
    project = project_service.project_for(g.user, pid)
    project_service.require_role(g.user, Role.ENGINEER)
    return jsonify(training.request_round(project, "api").as_dict()), 202


@bp.get("/projects/<pid>/rounds")
@authenticated
def rounds(pid: str) -> Any:
    project = project_service.project_for(g.user, pid)
    return jsonify({"rounds": [r.as_dict() for r in training.recent_rounds(project, 100)]})


@bp.get("/jobs/<int:job_id>")
@authenticated
def get_job(job_id: int) -> Any:
    job = db.session.get(Job, job_id)
    if job is None or job.project_id is None:
        raise NotFound(f"no job {job_id}")
    project_service.project_for(g.user, job.project_id)
    project_service.require_role(g.user, Role.ENGINEER, Role.SME)
    return jsonify(job.as_dict())
