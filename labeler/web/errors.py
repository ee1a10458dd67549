"""Errors as JSON under /api/, as pages elsewhere.

A 500 is always a bug: inputs are declared and refused with a 4xx naming the
field. Should one still happen under /api/, the client gets the JSON envelope
(never a traceback) and the log gets the traceback.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from labeler.services.errors import ServiceError


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, details: Any = None) -> Any:
    if wants_json():
        body = {"error": {"code": code, "message": message, "details": details}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, details=details), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        from labeler.extensions import db

        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(400, "csrf", exc.description)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"upload too large: the limit is {limit} bytes"
            code = "too_large"
        response = error_response(exc.code or 500, code, message)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            # RFC 9110: a 405 lists the methods the resource has.
            return response[0], response[1], {"Allow": ", ".join(sorted(exc.valid_methods))}
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if not request.path.startswith("/api/"):
            raise exc
        from labeler.extensions import db

        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500, "internal", "internal error (logged on the server)")
