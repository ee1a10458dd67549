"""The OpenAPI 3.1 document for /api/v1 (a test checks it names every route)."""

from __future__ import annotations

from typing import Any

from labeler import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Bad input: the error names the field or line"),
    "401": _json(_ref("Error"), "No or invalid token"),
    "403": _json(_ref("Error"), "The user's role may not do this"),
    "404": _json(_ref("Error"), "No such project or item (or not a member)"),
}
_PID = {
    "name": "pid",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Project id or name",
}
_IID = {
    "name": "iid",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Item id as given at import",
}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    params: list[Any] | None = None,
    body: dict[str, Any] | None = None,
    errors: tuple[str, ...] = ("400", "401", "403", "404"),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {**responses, **{k: _ERRORS[k] for k in errors}},
    }
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


SCHEMAS: dict[str, Any] = {
    "Round": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {"enum": ["queued", "running", "done", "failed"]},
            "trigger": {"type": "string"},
            "strategy": {"type": "string"},
            "strategy_used": {"type": ["string", "null"]},
            "cold_start": {"type": "boolean"},
            "n_labels": {"type": ["integer", "null"]},
            "n_ranked": {"type": ["integer", "null"]},
            "cv_accuracy": {"type": ["number", "null"]},
            "cv_macro_f1": {"type": ["number", "null"]},
            "duration_s": {"type": ["number", "null"]},
            "info": {},
            "error": {"type": ["string", "null"]},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {},
                },
            }
        },
    },
    "Label": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "hotkey": {"type": "string"}},
    },
    "Project": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "kind": {"enum": ["text", "tabular", "image"]},
            "overlap": {"type": "integer"},
            "strategy": {"type": "string"},
            "lease_seconds": {"type": "integer"},
            "retrain_every": {"type": "integer"},
            "text_field": {"type": "string"},
            "instructions": {"type": "string"},
            "labels": {"type": "array", "items": _ref("Label")},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "progress": _ref("Progress"),
        },
    },
    "NewProject": {
        "type": "object",
        "required": ["name", "labels"],
        "properties": {
            "name": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["text", "tabular", "image"]},
            "overlap": {"type": "integer", "minimum": 1},
            "strategy": {"type": "string"},
            "instructions": {"type": "string"},
            "lease_seconds": {"type": "integer"},
            "text_field": {"type": "string"},
            "retrain_every": {"type": "integer"},
        },
    },
    "Progress": {
        "type": "object",
        "properties": {
            "n_items": {"type": "integer"},
            "n_complete": {"type": "integer"},
            "n_annotations": {"type": "integer"},
            "target_annotations": {"type": "integer"},
            "mine": {"type": "integer"},
        },
    },
    "Item": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "data": {"type": "object"},
            "priority": {"type": "number"},
            "n_done": {"type": "integer"},
        },
    },
    "Assignment": {
        "type": "object",
        "required": ["item", "lease_expires_at"],
        "properties": {
            "item": _ref("Item"),
            "lease_expires_at": {"type": "string", "format": "date-time"},
        },
    },
    "NewAnnotation": {
        "type": "object",
        "properties": {
            "label": {"type": ["string", "null"], "description": "A label of the project's set"},
            "kind": {"enum": ["label", "skip", "unsure"], "default": "label"},
            "duration_ms": {"type": "integer", "minimum": 0},
        },
    },
    "Annotation": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "item": {"type": "string"},
            "kind": {"type": "string"},
            "label": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "ImportResult": {
        "type": "object",
        "properties": {
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "total": {"type": "integer"},
        },
    },
    "Job": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "project_id": {"type": ["integer", "null"]},
            "kind": {"type": "string"},
            "status": {"enum": ["queued", "running", "done", "failed"]},
            "progress": {"type": "integer"},
            "total": {"type": ["integer", "null"]},
            "result": {},
            "error": {"type": ["string", "null"]},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
        },
    },
    "ExportRow": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "data": {"type": "object"},
            "annotations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "rater": {"type": "string"},
                        "label": {"type": ["string", "null"]},
                        "kind": {"type": "string"},
                        "created_at": {"type": "string"},
                    },
                },
            },
            "label": {"type": ["string", "null"]},
            "source": {"enum": ["adjudicated", "human", "label_model", "propagation", None]},
            "confidence": {"type": ["number", "null"]},
        },
    },
}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {
            "get": _op("This document", {"200": _json({"type": "object"})}, errors=())
        },
        "/api/v1/me": {
            "get": _op(
                "The authenticated user", {"200": _json({"type": "object"})}, errors=("401",)
            )
        },
        "/api/v1/projects": {
            "get": _op(
                "Projects the user is a member of",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"projects": {"type": "array", "items": _ref("Project")}},
                        }
                    )
                },
                errors=("401",),
            ),
            "post": _op(
                "Create a project (engineer, admin)",
                {
                    "201": _json(_ref("Project"), "Created"),
                    "409": _json(_ref("Error"), "Name taken"),
                },
                body={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewProject")}},
                },
            ),
        },
        "/api/v1/projects/{pid}": {
            "get": _op(
                "A project with its progress", {"200": _json(_ref("Project"))}, params=[_PID]
            ),
            "patch": _op(
                "Change settings (engineer, admin)",
                {"200": _json(_ref("Project"))},
                params=[_PID],
                body={
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            ),
        },
        "/api/v1/projects/{pid}/members": {
            "post": _op(
                "Add a member (engineer, admin)",
                {
                    "201": _json({"type": "object"}, "Added"),
                    "200": _json({"type": "object"}, "Already a member"),
                },
                params=[_PID],
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"user": {"type": "string"}}}
                        }
                    },
                },
            ),
        },
        "/api/v1/projects/{pid}/progress": {
            "get": _op(
                "Progress of the project and the user",
                {"200": _json(_ref("Progress"))},
                params=[_PID],
            ),
        },
        "/api/v1/projects/{pid}/items": {
            "post": _op(
                "Import items: a JSON list, or a file in the form field `file` (csv, jsonl, label-studio, "
                "wrench); all or nothing, idempotent by id. `async=1` runs it on a worker (202, a Job).",
                {
                    "201": _json(_ref("ImportResult"), "Imported"),
                    "202": _json(_ref("Job"), "Queued"),
                    "413": _json(_ref("Error"), "Upload too large"),
                },
                params=[_PID],
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"type": "object"}}
                        },
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "format": {"enum": ["csv", "jsonl", "label-studio", "wrench"]},
                                    "async": {"type": "string"},
                                },
                            }
                        },
                    },
                },
            ),
        },
        "/api/v1/projects/{pid}/items/{iid}": {
            "get": _op(
                "One item",
                {"200": _json({"type": "object", "properties": {"item": _ref("Item")}})},
                params=[_PID, _IID],
            ),
        },
        "/api/v1/projects/{pid}/next": {
            "get": _op(
                "Lease the next item for this rater (the same one while the lease lives)",
                {
                    "200": _json(_ref("Assignment")),
                    "204": {"description": "Nothing left for this rater"},
                },
                params=[_PID],
            ),
        },
        "/api/v1/projects/{pid}/items/{iid}/annotations": {
            "post": _op(
                "Answer an item",
                {
                    "201": _json(_ref("Annotation"), "Recorded"),
                    "409": _json(_ref("Error"), "The item already has `overlap` answers"),
                },
                params=[_PID, _IID],
                body={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewAnnotation")}},
                },
            ),
        },
        "/api/v1/projects/{pid}/undo": {
            "post": _op(
                "Retract the user's last answer and lease that item back",
                {
                    "200": _json(_ref("Assignment")),
                    "409": _json(_ref("Error"), "Item filled since"),
                },
                params=[_PID],
            ),
        },
        "/api/v1/projects/{pid}/export": {
            "get": _op(
                "Stream one row per item (engineer, sme, admin)",
                {
                    "200": {
                        "description": "JSON lines or CSV",
                        "content": {
                            "application/x-ndjson": {"schema": _ref("ExportRow")},
                            "text/csv": {},
                        },
                    }
                },
                params=[
                    _PID,
                    {"name": "format", "in": "query", "schema": {"enum": ["jsonl", "csv"]}},
                ],
            ),
        },
        "/api/v1/projects/{pid}/al/run": {
            "post": _op(
                "Queue an active-learning round (engineer, admin); coalesces with one in flight",
                {"202": _json(_ref("Round"), "Queued or already in flight")},
                params=[_PID],
            ),
        },
        "/api/v1/projects/{pid}/rounds": {
            "get": _op(
                "Recent active-learning rounds with their metrics",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"rounds": {"type": "array", "items": _ref("Round")}},
                        }
                    )
                },
                params=[_PID],
            ),
        },
        "/api/v1/jobs/{job_id}": {
            "get": _op(
                "A background job's status and progress",
                {"200": _json(_ref("Job"))},
                params=[
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
            ),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "labeler API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
