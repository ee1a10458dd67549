"""labeler: a labeling service with active learning and weak supervision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"

_PKG = Path(__file__).resolve().parent


def _asset_dir(name: str) -> str:
    """templates/static live at the top level of the source tree, inside the package in a wheel."""
    inside = _PKG / name
    return str(inside if inside.is_dir() else _PKG.parent / name)


def migrations_dir() -> str:
    return _asset_dir("migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides defaults and ``LABELER_*`` variables."""
    from labeler.config import load_config
    from labeler.extensions import csrf, db, limiter, login, migrate
    from labeler.files import secure_data_files

    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        static_url_path="/static",
    )
    app.config.update(load_config(config))
    secure_data_files(
        Path(app.config["LABELER_DATA_DIR"]),
        app.config["SQLALCHEMY_DATABASE_URI"],
        app.config["LABELER_BROKER_URL"],
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_dir(), render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from labeler import models  # noqa: F401  (register the tables)
    from labeler.db_events import install_engine_events

    with app.app_context():
        install_engine_events(db.engine)

    from labeler.web import register_blueprints

    register_blueprints(app)

    from workers import celery_init_app

    celery_init_app(app)

    from labeler.cli import register_flask_commands

    register_flask_commands(app)
    return app
