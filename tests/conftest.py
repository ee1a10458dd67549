"""Shared fixtures, the flaskr way: ``app``, ``client``, ``runner``.

``app`` is parametrised over the two backends: the embedded SQLite default and
PostgreSQL on 127.0.0.1 (``LABELER_TEST_PG_URL``). PostgreSQL is a real server;
when it cannot be reached the PostgreSQL cases fail loudly, never skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from labeler import create_app
from labeler.extensions import db

PG_ADMIN_URL = os.environ.get(
    "LABELER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LABELER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# Fixtures that need a database: a test using any of them is marked ``db`` and
# left out of the fast tier (``pytest -m "not db" tests/unit``).
DB_FIXTURES = frozenset(
    {"app", "backend", "db_url", "pg_database", "make_pg_app", "pg_app", "live_server"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; dropped at the end."""
    name = f"labeler_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = sa.create_engine(url)
    _create_schema(url)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


def _create_schema(url: str) -> None:
    """Build the schema with the real migrations, as production does."""
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _truncate_pg(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [t.name for t in db.metadata.sorted_tables]
        conn.exec_driver_sql(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )
    engine.dispose()


def make_app(db_url: str, tmp_path: Path, **extra: Any) -> Any:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "LABELER_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        "LABELER_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database built once per session with the real migrations; tests copy it."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    _create_schema(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "labeler.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
        yield url


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Any]:
    app = make_app(db_url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_pg_app(pg_database: str, tmp_path: Path) -> Iterator[Any]:
    """``make_pg_app(**config)``: an app on the session's (emptied) PostgreSQL database.

    For tests that need PostgreSQL alone (query plans, real concurrency, Redis
    redelivery); the app context stays pushed until the test ends.
    """
    made: list[Any] = []

    def _make(**extra: Any) -> Any:
        _truncate_pg(pg_database)
        app = make_app(pg_database, tmp_path, **extra)
        ctx = app.app_context()
        ctx.push()
        made.append(ctx)
        return app

    yield _make
    for ctx in reversed(made):
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


@pytest.fixture
def pg_app(make_pg_app: Any) -> Any:
    """An app on PostgreSQL only, with its app context pushed."""
    return make_pg_app()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Any) -> Any:
    """``make_user(name, role="rater", password="pw")`` -> (user, token); see tests/factories."""
    from tests.factories import gen_user

    return gen_user


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (a user's clone has no ../shared)")
    return SHARED_DATA
