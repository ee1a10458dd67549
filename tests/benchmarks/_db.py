"""Scratch PostgreSQL databases and app instances for the benchmarks.

Every benchmark that needs data builds it in a database of its own, named
``labeler_bench_<kind>_<random>``, and drops it at the end, also when it fails half-way:
a benchmark must never leave a multi-GB database behind or touch a database a person
uses. Four scripts had grown the same create / fill / drop / vacuum lines; they live here.

The server comes from ``LABELER_TEST_PG_URL`` (the test suite's variable), by default the
local trust-auth PostgreSQL this machine runs.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

PG_ADMIN_URL = os.environ.get(
    "LABELER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T = TypeVar("T")


def engine(url: str, **kw: Any) -> Any:
    """A SQLAlchemy engine (imported late: the scripts' ``--help`` stays fast)."""
    import sqlalchemy as sa

    return sa.create_engine(url, **kw)


def database_url(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    """The URL of database ``name`` on the benchmarks' server."""
    return admin_url.rsplit("/", 1)[0] + "/" + name


def create_database(kind: str, admin_url: str = PG_ADMIN_URL) -> tuple[str, str]:
    """Create an empty database ``labeler_bench_<kind>_<random>``; its name and URL."""
    name = f"labeler_bench_{kind}_{uuid.uuid4().hex[:8]}"
    admin = engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return name, database_url(name, admin_url)


def drop_database(name: str, admin_url: str = PG_ADMIN_URL) -> None:
    """Drop a benchmark database, ending the sessions still connected to it."""
    admin = engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()


def filled_database(kind: str, fill: Callable[[str, str], T]) -> tuple[str, str, T]:
    """Create a database and run ``fill(name, url)`` in it; drop it if the fill fails.

    The caller drops it (``drop_database(name)``) when done: a benchmark may keep it for
    several measurements.
    """
    name, url = create_database(kind)
    try:
        return name, url, fill(name, url)
    except BaseException:
        drop_database(name)
        raise


@contextmanager
def scratch_database(kind: str, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """An empty database for the ``with`` block's duration; yields its URL."""
    name, url = create_database(kind, admin_url)
    try:
        yield url
    finally:
        drop_database(name, admin_url)


def vacuum_analyze(url: str, *tables: str) -> None:
    """``VACUUM ANALYZE`` after a bulk load, so the planner sees the real sizes."""
    eng = engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    finally:
        eng.dispose()


def bench_app(url: str, **config: Any) -> Any:
    """The app on ``url`` the way the benchmarks run it (testing, its own data dir)."""
    from labeler import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": "bench",
            "LABELER_DATA_DIR": tempfile.mkdtemp(prefix="labeler-bench-"),
            **config,
        }
    )
