"""Configuration: defaults plus ``LABELER_*`` environment variables.

This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("LABELER_DATA_DIR", "./labeler-data")).resolve()


def _secret_key(data_dir: Path, env: dict[str, str], production: bool) -> str:
    if env.get("LABELER_SECRET_KEY"):
        return env["LABELER_SECRET_KEY"]
    if production:
        raise RuntimeError("LABELER_SECRET_KEY must be set when LABELER_ENV=production")
    # Outside production, generate one and keep it so sessions survive restarts.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(
    overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return the settings dict for ``create_app``; ``overrides`` win over the environment."""
    env = dict(os.environ if env is None else env)
    overrides = dict(overrides or {})
    data_dir = Path(overrides.get("LABELER_DATA_DIR") or _data_dir(env)).resolve()
    production = env.get("LABELER_ENV", "") == "production"
    db_url = overrides.get("SQLALCHEMY_DATABASE_URI") or env.get(
        "LABELER_DATABASE_URL", f"sqlite:///{data_dir / 'labeler.db'}"
    )
    broker = overrides.get("LABELER_BROKER_URL") or env.get(
        "LABELER_BROKER_URL", f"sqla+sqlite:///{data_dir / 'broker.db'}"
    )
    config: dict[str, Any] = {
        "LABELER_DATA_DIR": str(data_dir),
        "LABELER_ENV": "production" if production else env.get("LABELER_ENV", "development"),
        "SQLALCHEMY_DATABASE_URI": _normalise_db_url(db_url),
        "LABELER_BROKER_URL": broker,
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(data_dir, env, production),
        # Uploads larger than this get a 413 (bytes).
        "MAX_CONTENT_LENGTH": int(env.get("LABELER_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)),
        "LABELER_LEASE_SECONDS": int(env.get("LABELER_LEASE_SECONDS", 600)),
        "LABELER_IMPORT_CHUNK": int(env.get("LABELER_IMPORT_CHUNK", 2000)),
        "LABELER_EAGER_TASKS": env.get("LABELER_EAGER_TASKS", "") == "1",
        # How rounds featurize text: tfidf, hashing or embeddings (needs labeler[embeddings]).
        "LABELER_TEXT_FEATURES": env.get("LABELER_TEXT_FEATURES", "tfidf"),
        "LABELER_TASK_VISIBILITY_TIMEOUT": int(env.get("LABELER_TASK_VISIBILITY_TIMEOUT", 900)),
        # A round queued or running longer than this is taken for dead and replaced.
        "LABELER_ROUND_STALE_SECONDS": int(env.get("LABELER_ROUND_STALE_SECONDS", 1800)),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(config["SQLALCHEMY_DATABASE_URI"])
    return config


def _normalise_db_url(url: str) -> str:
    # Users paste postgres:// or postgresql:// URLs; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
