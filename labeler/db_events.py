"""Per-backend connection settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def install_engine_events(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    if getattr(engine, "_labeler_events", False):
        return
    engine._labeler_events = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has one writer. Taking the write lock when a transaction
        # begins (rather than on its first write) is what makes read-then-update
        # sequences such as "pick the next item and lease it" correct across the
        # web and worker processes, instead of failing with SQLITE_BUSY midway.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
