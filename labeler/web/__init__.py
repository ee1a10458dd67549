"""Blueprints: auth, ui (pages), items (browser), admin, account, docs, api (JSON v1),
api_accounts, api_gold, api_quality and api_weak (JSON v1), errors, security."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from labeler.web import (
        account,
        admin,
        api,
        api_accounts,
        api_gold,
        api_quality,
        api_weak,
        auth,
        docs,
        errors,
        items,
        security,
        ui,
        ui_adjudicate,
        ui_weak,
    )

    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(ui_weak.bp)
    app.register_blueprint(ui_adjudicate.bp)
    app.register_blueprint(items.bp)
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(account.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(api_accounts.bp, url_prefix="/api/v1")
    app.register_blueprint(api_gold.bp, url_prefix="/api/v1")
    app.register_blueprint(api_quality.bp, url_prefix="/api/v1")
    app.register_blueprint(api_weak.bp, url_prefix="/api/v1")
