"""REST API v1: JSON in, JSON out, ``Authorization: Bearer TOKEN``.

The labeling page uses the same routes with its session cookie (and a CSRF header).
Every view is declared with :func:`labeler.web.openapi.declare`: the models named
there validate its input and describe it in the OpenAPI document.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, stream_with_context
from flask_login import current_user
from werkzeug.routing import PathConverter

from labeler.extensions import csrf
from labeler.models import Project, Role, User
from labeler.services import assignment, exporting, importing, jobs, neighbours, queue, training
from labeler.services import projects as project_service
from labeler.services import users as user_service
from labeler.services.errors import Forbidden, NotFound, ServiceError
from labeler.services.inputs import ITEM_ID_MAX, is_reference
from labeler.web import schemas as s
from labeler.web.download import content_disposition
from labeler.web.openapi import declare

bp = Blueprint("api", __name__)


#: The routes under an item (``<id>/annotations`` ...): the item route must not also claim
#: them (one resource, one ``Allow``). tests/integration/test_api.py fails when a route
#: under ``items/<item:iid>/`` is missing here.
ITEM_SUBRESOURCES = ("annotations", "lease", "adjudication", "gold", "flag", "similar")


class ItemIdConverter(PathConverter):
    """An external item id in a path: slashes allowed, but not ending in one of
    :data:`ITEM_SUBRESOURCES`, which are routes of their own."""

    regex = r"[^/](?:[^/]|/(?!(?:" + "|".join(ITEM_SUBRESOURCES) + r")$))*"


@bp.record_once
def _register_converter(state: Any) -> None:
    state.app.url_map.converters.setdefault("item", ItemIdConverter)


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


def _item_ref(iid: str) -> str:
    """An item id from a path: longer than an external id or with NUL names no item."""
    if not is_reference(iid, ITEM_ID_MAX):
        raise NotFound("no such item", {"item": iid[:ITEM_ID_MAX]})
    return iid


def _assignment(project: Project, got: assignment.Assignment) -> dict[str, Any]:
    return {
        "item": assignment.item_dict(project, got.item),
        "lease_expires_at": got.expires_at.isoformat(),
    }


@bp.get("/openapi.json")
@declare("This document", responses={200: None}, public=True)
def openapi() -> Any:
    from labeler.web.openapi import openapi_document

    return jsonify(openapi_document())


@bp.get("/me")
@authenticated
@declare("The authenticated user", responses={200: s.Me})
def me() -> Any:
    user: User = g.user
    return jsonify({"id": user.id, "name": user.name, "role": user.role})


@bp.get("/projects")
@authenticated
@declare("Projects the user is a member of", responses={200: s.ProjectList})
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
@declare(
    "Create a project (engineer, admin)",
    body=s.NewProject,
    responses={201: s.Project},
    roles=(Role.ENGINEER,),
    errors=(409,),
)
def create_project(body: s.NewProject) -> Any:
    project = project_service.create_project(body, created_by=g.user)
    return jsonify(project_service.project_dict(project)), 201


@bp.get("/projects/<pid>")
@authenticated
@declare("A project with its progress", responses={200: s.Project})
def get_project(project: Project) -> Any:
    out = project_service.project_dict(project)
    out["progress"] = project_service.project_progress(project, g.user)
    return jsonify(out)


@bp.patch("/projects/<pid>")
@authenticated
@declare(
    "Change settings (engineer, admin); absent or null fields stay as they are. "
    "409 when the new name or a label name or hotkey is taken",
    body=s.ProjectPatch,
    responses={200: s.Project},
    roles=(Role.ENGINEER,),
    errors=(409,),
)
def patch_project(project: Project, body: s.ProjectPatch) -> Any:
    project_service.update_project(project, body)
    return jsonify(project_service.project_dict(project))


@bp.post("/projects/<pid>/members")
@authenticated
@declare(
    "Add a member (engineer, admin)",
    body=s.NewMember,
    responses={201: s.MemberAdded, 200: s.MemberAdded},
    roles=(Role.ENGINEER,),
)
def add_member(project: Project, body: s.NewMember) -> Any:
    user = user_service.find_user(body.user)
    added = project_service.add_member(project, user)
    return jsonify(
        {"project": project.id, "user": user.name, "added": added}
    ), 201 if added else 200


@bp.get("/projects/<pid>/progress")
@authenticated
@declare("Progress of the project and the user", responses={200: s.Progress})
def progress(project: Project) -> Any:
    return jsonify(project_service.project_progress(project, g.user))


@bp.post("/projects/<pid>/items")
@authenticated
@declare(
    "Import items (engineer, admin): a JSON list, or a file in the form field `file` "
    "(csv, jsonl, label-studio, wrench); all or nothing, idempotent by id. "
    "`async=1` runs a file import on a worker (202, a Job).",
    body=s.NewItems,
    form=s.ImportForm,
    responses={201: s.ImportResult, 202: s.Job},
    roles=(Role.ENGINEER,),
)
def import_items(
    project: Project, body: s.NewItems | None = None, form: s.ImportForm | None = None
) -> Any:
    """Import items: a JSON list in the body, or a file upload (field ``file``)."""
    if form is not None:
        upload = form.file
        fmt = form.format or importing.guess_format(upload.filename or "")
        if form.async_ in ("1", "true"):
            job = jobs.enqueue_import(
                project, upload.stream, upload.filename or "upload", fmt, g.user
            )
            return jsonify(job.as_dict()), 202
        result = importing.import_file(project, upload.stream, fmt)
        return jsonify(result.as_dict()), 201
    assert body is not None
    result = importing.import_records(project, body.root)
    return jsonify(result.as_dict()), 201


@bp.get("/projects/<pid>/items/<item:iid>")
@authenticated
@declare("One item", responses={200: s.ItemEnvelope})
def get_item(project: Project, iid: str) -> Any:
    item = assignment.find_item(project, _item_ref(iid))
    return jsonify({"item": assignment.item_dict(project, item)})


@bp.get("/projects/<pid>/items/<item:iid>/similar")
@authenticated
@declare(
    "The k items nearest to this one by cosine over stored sentence embeddings "
    "(shown data only); 409 while its vector is not ready or the project does not use embeddings",
    query=s.SimilarQuery,
    responses={200: s.SimilarItems},
    errors=(409,),
)
def similar(project: Project, iid: str, query: s.SimilarQuery) -> Any:
    item = assignment.find_item(project, _item_ref(iid))
    return jsonify(neighbours.similar_items(project, item, query.k))


@bp.get("/projects/<pid>/next")
@authenticated
@declare(
    "Lease the next item for this rater (the same one while the lease lives)",
    responses={200: s.Assignment, 204: None},
)
def next_item(project: Project) -> Any:
    got = assignment.next_item(project, g.user)
    if got is None:
        return Response(status=204)
    return jsonify(_assignment(project, got))


@bp.post("/projects/<pid>/items/<item:iid>/annotations")
@authenticated
@declare(
    "Answer an item; a label must be one of the project's set. The same answer again "
    "is idempotent; a different one is a change only with `replaces` (else 409)",
    body=s.NewAnnotation,
    responses={201: s.Annotation},
    errors=(409,),
)
def annotate(project: Project, iid: str, body: s.NewAnnotation) -> Any:
    answered = assignment.answer(
        project,
        g.user,
        _item_ref(iid),
        body.label,
        kind=body.kind,
        duration_ms=body.duration_ms,
        origin="ui" if request.headers.get("X-Labeler-Client") == "ui" else "api",
        replaces=body.replaces,
    )
    if not answered.round_in_flight:
        training.maybe_trigger(project)
    return jsonify(answered.as_dict()), 201


@bp.post("/projects/<pid>/undo")
@authenticated
@declare(
    "Retract the user's last answer and lease that item back",
    responses={200: s.Assignment},
    errors=(409,),
)
def undo(project: Project) -> Any:
    return jsonify(_assignment(project, assignment.undo_last(project, g.user)))


@bp.get("/projects/<pid>/export")
@authenticated
@declare(
    "Stream one row per item (engineer, sme, admin); LF votes for engineers and admins",
    query=s.ExportQuery,
    responses={
        200: {
            "application/x-ndjson": s.ExportRow,
            "text/csv": None,
            "application/vnd.apache.parquet": None,
            "application/json": None,
            "application/zip": None,
        }
    },
    roles=(Role.ENGINEER, Role.SME),
)
def export(project: Project, query: s.ExportQuery) -> Any:
    _may_see_votes(query)
    # The generator runs after this view returns: keep its own app context.
    body = exporting.stream(project, query)
    headers = {
        "Content-Disposition": content_disposition(exporting.file_name(project, query.format))
    }
    mimetype = exporting.FORMATS[query.format]
    return Response(stream_with_context(body), mimetype=mimetype, headers=headers)


@bp.get("/projects/<pid>/export/manifest")
@authenticated
@declare(
    "The manifest of the export the same options download (runs the export to hash it)",
    query=s.ExportQuery,
    responses={200: s.ExportManifest},
    roles=(Role.ENGINEER, Role.SME),
)
def export_manifest(project: Project, query: s.ExportQuery) -> Any:
    _may_see_votes(query)
    return jsonify(exporting.manifest_for(project, query))


def _may_see_votes(query: s.ExportQuery) -> None:
    if query.lf_votes and g.user.role not in (Role.ENGINEER, Role.ADMIN):
        raise Forbidden("lf_votes: labeling-function votes are for engineers and admins")


@bp.post("/projects/<pid>/al/run")
@authenticated
@declare(
    "Queue an active-learning round (engineer, admin); coalesces with one in flight",
    responses={202: s.Round},
    roles=(Role.ENGINEER,),
)
def al_run(project: Project) -> Any:
    """Queue an active-learning round now (coalesces with one in flight)."""
    return jsonify(training.request_round(project, "api").as_dict()), 202


@bp.get("/projects/<pid>/rounds")
@authenticated
@declare(
    "Recent active-learning rounds with their metrics",
    responses={200: s.RoundList},
)
def rounds(project: Project) -> Any:
    return jsonify({"rounds": [r.as_dict() for r in training.recent_rounds(project, 100)]})


@bp.get("/jobs/<int:job_id>")
@authenticated
@declare(
    "A background job's status and progress (engineer, sme, admin)",
    responses={200: s.Job},
    errors=(403,),
)
def get_job(job_id: int) -> Any:
    return jsonify(jobs.job_for(g.user, job_id).as_dict())


@bp.post("/projects/<pid>/items/<item:iid>/lease")
@authenticated
@declare(
    "Renew the caller's lease on an item (a heartbeat while the rater works on it); "
    "409 when the lease is lost and the item was taken, or the caller answered it",
    responses={200: s.Assignment},
    errors=(409,),
)
def renew_lease(project: Project, iid: str) -> Any:
    return jsonify(_assignment(project, queue.renew_lease(project, g.user, _item_ref(iid))))


@bp.get("/projects/<pid>/queue")
@authenticated
@declare(
    "The caller's queue: items left, items held by other raters, when a lease runs out",
    responses={200: s.QueueStatus},
)
def queue_status(project: Project) -> Any:
    return jsonify(queue.queue_status(project, g.user))


@bp.get("/projects/<pid>/my/answers")
@authenticated
@declare(
    "The caller's recent answers in the project, newest first, history included",
    query=s.MyAnswersQuery,
    responses={200: s.MyAnswerList},
)
def my_answers(project: Project, query: s.MyAnswersQuery) -> Any:
    return jsonify({"answers": queue.my_answers(project, g.user, query.limit)})


@bp.get("/projects/<pid>/jobs")
@authenticated
@declare(
    "The project's newest background jobs, newest first (engineer, sme, admin)",
    responses={200: s.JobList},
    roles=(Role.ENGINEER, Role.SME),
)
def project_jobs(project: Project) -> Any:
    return jsonify({"jobs": [j.as_dict() for j in jobs.recent_jobs(project, 10)]})
