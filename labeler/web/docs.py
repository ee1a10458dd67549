"""/docs/api: the OpenAPI document rendered for people, on the server.

No JavaScript renderer and nothing from a CDN (the CSP forbids both): the page is
one Jinja template over :func:`labeler.web.openapi.openapi_document`, so it
cannot drift from the routes either. Public, like ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template

from labeler.web.openapi import openapi_document

bp = Blueprint("docs", __name__)

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
CONSTRAINTS = (
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "≥"),
    ("maximum", "≤"),
    ("exclusiveMinimum", ">"),
    ("exclusiveMaximum", "<"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("pattern", "pattern"),
    ("format", "format"),
    ("default", "default"),
)


def ref_name(ref: str) -> str:
    """``#/components/schemas/Foo`` -> ``Foo``.

    >>> ref_name("#/components/schemas/NewUser")
    'NewUser'
    """
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> list[dict[str, str]]:
    """A schema's type as pieces the template joins: plain text or a link to a component.

    >>> type_of({"type": "array", "items": {"$ref": "#/components/schemas/Item"}})
    [{'text': 'array of '}, {'ref': 'Item'}]
    >>> type_of({"anyOf": [{"type": "string"}, {"type": "null"}]})
    [{'text': 'string'}, {'text': ' | '}, {'text': 'null'}]
    """
    if "$ref" in schema:
        return [{"ref": ref_name(schema["$ref"])}]
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            out: list[dict[str, str]] = []
            for k, part in enumerate(schema[combo]):
                if k:
                    out.append({"text": " | " if combo != "allOf" else " & "})
                out.extend(type_of(part))
            return out
    if "enum" in schema:
        return [{"text": "one of " + ", ".join(repr(v) for v in schema["enum"])}]
    if "const" in schema:
        return [{"text": repr(schema["const"])}]
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return [{"text": "array of "}, *type_of(items)] if items else [{"text": "array"}]
    if isinstance(kind, list):
        return [{"text": " | ".join(kind)}]
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        if isinstance(extra, dict) and extra:
            return [{"text": "object of "}, *type_of(extra)]
    return [{"text": str(kind or "any")}]


def constraints(schema: dict[str, Any]) -> list[str]:
    """Bounds, pattern, format and default of a schema, in words.

    >>> constraints({"type": "integer", "minimum": 1, "maximum": 100, "default": 1})
    ['≥ 1', '≤ 100', 'default 1']
    >>> constraints({"anyOf": [{"type": "string", "minLength": 8}, {"type": "null"}], "default": None})
    ['min length 8']
    """
    out: list[str] = []
    for part in schema.get("anyOf", []):  # ``X | null``: the bounds sit on X
        out.extend(c for c in constraints(part) if c not in out)
    for key, label in CONSTRAINTS:
        value = schema.get(key)
        if value is None:
            continue  # no bound, or a default of null ("absent")
        shown = json.dumps(value, ensure_ascii=False) if key in ("pattern", "default") else value
        out.append(f"{label} {shown}")
    return out


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per property of an object schema."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_of(prop),
            "required": name in required,
            "constraints": constraints(prop),
            "description": prop.get("description", ""),
        }
        for name, prop in (schema.get("properties") or {}).items()
    ]


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, methods in doc["paths"].items():
        for method in sorted(
            methods, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 9
        ):
            op = methods[method]
            body = (op.get("requestBody") or {}).get("content", {})
            out.append(
                {
                    "anchor": f"{method}-{path}".replace("/", "-")
                    .replace("{", "")
                    .replace("}", ""),
                    "path": path,
                    "method": method,
                    "summary": op.get("summary", ""),
                    "public": op.get("security") == [],
                    "parameters": [
                        {
                            **p,
                            "type": type_of(p.get("schema", {})),
                            "constraints": constraints(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": [
                        {"media": m, "type": type_of(c.get("schema", {}))} for m, c in body.items()
                    ],
                    "responses": [
                        {
                            "status": status,
                            "description": r.get("description", ""),
                            "content": [
                                {
                                    "media": m,
                                    "type": type_of(c.get("schema", {})) if c.get("schema") else [],
                                }
                                for m, c in (r.get("content") or {}).items()
                            ],
                        }
                        for status, r in op["responses"].items()
                    ],
                }
            )
    return sorted(out, key=lambda o: (o["path"], METHOD_ORDER.index(o["method"])))


def _schemas(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": schema.get("description", ""),
            "type": type_of(schema) if "properties" not in schema else [{"text": "object"}],
            "fields": fields(schema),
            "constraints": constraints(schema),
        }
        for name, schema in sorted(doc["components"]["schemas"].items())
    ]


@bp.get("/docs/api")
def api_docs() -> Any:
    doc = openapi_document()
    return render_template(
        "docs.html",
        info=doc["info"],
        operations=_operations(doc),
        schemas=_schemas(doc),
    )
