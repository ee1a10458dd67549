"""Blueprints: auth, ui (pages), api (JSON v1), errors."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from labeler.web import api, auth, errors, ui

    errors.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
