"""Configuration: defaults plus ``LABELER_*`` environment variables.

This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from labeler.files import ensure_private_dir, write_private_file

# Signing key strength: 32 bytes is what HMAC-SHA256 (sessions, remember cookies) wants.
MIN_SECRET_KEY_BYTES = 32


class ConfigError(Exception):
    """A setting the process cannot start with; the message is one line for the operator."""


def _data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("LABELER_DATA_DIR", "./labeler-data")).resolve()


def _secret_key(data_dir: Path, env: dict[str, str], production: bool) -> str:
    key = env.get("LABELER_SECRET_KEY", "")
    if production:
        if not key:
            raise ConfigError(
                "LABELER_SECRET_KEY must be set when LABELER_ENV=production "
                f"(at least {MIN_SECRET_KEY_BYTES} bytes, e.g. from "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        if len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ConfigError(
                f"LABELER_SECRET_KEY is {len(key.encode())} bytes; production needs at least "
                f"{MIN_SECRET_KEY_BYTES} (e.g. `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`)"
            )
    if key:
        return key
    # Outside production, generate one and keep it so sessions survive restarts.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    ensure_private_dir(data_dir)
    key = secrets.token_hex(32)
    write_private_file(path, key)
    return key


def _ratelimit_storage(env: dict[str, str], broker: str) -> str:
    """Redis when there is one (shared by every gunicorn worker), memory otherwise."""
    if env.get("LABELER_RATELIMIT_STORAGE_URL"):
        return env["LABELER_RATELIMIT_STORAGE_URL"]
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return "memory://"


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
    secure_cookies = production
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
        "LABELER_TEXT_FEATURES": env.get("LABELER_TEXT_FEATURES", "auto"),
        # Embed jobs per project after an import: each takes the items whose id % N is its
        # share, so N workers embed a big project N times faster.
        "LABELER_EMBED_JOBS": max(1, int(env.get("LABELER_EMBED_JOBS", 1))),
        # Similar items: exact cosine below this many stored vectors, an HNSW index (built by
        # the embed job that finishes a project) at or above it.
        "LABELER_ANN_MIN_ITEMS": max(1, int(env.get("LABELER_ANN_MIN_ITEMS", 20000))),
        # Items an embed job embeds before queueing itself again (lets other tasks through).
        "LABELER_EMBED_SLICE": max(1, int(env.get("LABELER_EMBED_SLICE", 2048))),
        "LABELER_TASK_VISIBILITY_TIMEOUT": int(env.get("LABELER_TASK_VISIBILITY_TIMEOUT", 900)),
        # A round queued or running longer than this is taken for dead and replaced.
        "LABELER_ROUND_STALE_SECONDS": int(env.get("LABELER_ROUND_STALE_SECONDS", 1800)),
        # Python labeling functions run in a child process with these limits (per LF run).
        "LABELER_PYTHON_LF_TIMEOUT": float(env.get("LABELER_PYTHON_LF_TIMEOUT", 60)),
        # Address space on top of the libraries (RLIMIT_AS): pyarrow's allocator reserves
        # virtual memory generously, and pandas fails to build a frame under 1024.
        "LABELER_PYTHON_LF_MEMORY_MB": int(env.get("LABELER_PYTHON_LF_MEMORY_MB", 4096)),
        "LABELER_PYTHON_LF_LIST_TIMEOUT": float(env.get("LABELER_PYTHON_LF_LIST_TIMEOUT", 10)),
        # Items per chunk when labeling functions are applied (one transaction each).
        "LABELER_WEAK_CHUNK": max(1, int(env.get("LABELER_WEAK_CHUNK", 20000))),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # flask-login's "keep me logged in": two weeks, not its default of a year.
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("LABELER_REMEMBER_DAYS", 14))),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # Login attempts that fail, per user name and per client address.
        "RATELIMIT_STORAGE_URI": _ratelimit_storage(env, broker),
        "RATELIMIT_KEY_PREFIX": "labeler-rl",
        "LABELER_LOGIN_LIMIT_PER_NAME": env.get("LABELER_LOGIN_LIMIT_PER_NAME", "10 per 5 minutes"),
        "LABELER_LOGIN_LIMIT_PER_IP": env.get("LABELER_LOGIN_LIMIT_PER_IP", "30 per 5 minutes"),
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
