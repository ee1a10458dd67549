"""Migration 0003 moves gold answers and weak-label votes out of ``items.data``.

Built at revision 0002 with items as earlier imports wrote them (the demo's
``_gold``, WRENCH's ``_gold_label`` and ``_weak_labels``), upgraded, checked;
then downgraded (the keys come back) and upgraded again. On both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from labeler.extensions import db
from tests.conftest import make_app

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sa.text(sql))]


def _seed_at_0002(conn: Any) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO projects (id, name, instructions, kind, text_field, overlap, "
            "lease_seconds, strategy, retrain_every, created_at) VALUES "
            "(1, 'wrenchy', '', 'text', 'text', 1, 600, 'random', 20, :t), "
            "(2, 'demo', '', 'text', 'text', 1, 600, 'random', 20, :t)"
        ),
        {"t": NOW},
    )
    conn.execute(
        sa.text(
            "INSERT INTO labels (project_id, name, hotkey, position) VALUES "
            "(1, 'ham', '1', 0), (1, 'spam', '2', 1), (2, 'positive', '1', 0), (2, 'negative', '2', 1)"
        )
    )
    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("project_id", sa.Integer),
        sa.column("external_id", sa.String),
        sa.column("data", db.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")),
        sa.column("priority", sa.Float),
        sa.column("n_done", sa.Integer),
        sa.column("n_leased", sa.Integer),
        sa.column("is_open", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    base = {"priority": 0.0, "n_done": 0, "n_leased": 0, "is_open": True, "created_at": NOW}
    conn.execute(
        items.insert(),
        [
            {
                **base,
                "id": 1,
                "project_id": 1,
                "external_id": "w0",
                "data": {"text": "a", "_gold_label": 1, "_weak_labels": [-1, 1, 0]},
            },
            {
                **base,
                "id": 2,
                "project_id": 1,
                "external_id": "w1",
                "data": {"text": "b", "_gold_label": 0, "_weak_labels": [-1, -1, -1]},
            },
            {
                **base,
                "id": 3,
                "project_id": 2,
                "external_id": "r1",
                "data": {"text": "c", "_gold": "negative"},
            },
            {**base, "id": 4, "project_id": 2, "external_id": "r2", "data": {"text": "d_gold"}},
        ],
    )


def test_upgrade_moves_hidden_fields_and_downgrade_restores_them(db_url: str, tmp_path: Path):
    app = make_app(db_url, tmp_path)
    with app.app_context():
        try:
            downgrade(revision="0002")
            with db.engine.begin() as conn:
                _seed_at_0002(conn)
            upgrade(revision="0008")
            with db.engine.connect() as conn:
                rows_0008 = _rows(
                    conn,
                    "SELECT f.name, i.external_id, v.vote FROM weak_votes v "
                    "JOIN labeling_functions f ON f.id = v.lf_id "
                    "JOIN items i ON i.id = v.item_id ORDER BY f.name",
                )
            # 0011 packs the rows into blocks (and its downgrade, below, unpacks them).
            upgrade()
            with db.engine.connect() as conn:
                data = dict(_rows(conn, "SELECT external_id, data FROM items ORDER BY id"))
                gold = _rows(
                    conn,
                    "SELECT i.external_id, g.project_id, g.label, g.source FROM gold_labels g "
                    "JOIN items i ON i.id = g.item_id ORDER BY i.id",
                )
                lfs = _rows(
                    conn,
                    "SELECT project_id, name, kind, version, active FROM labeling_functions "
                    "ORDER BY name",
                )
                names = dict(_rows(conn, "SELECT id, name FROM labeling_functions"))
                ext = dict(_rows(conn, "SELECT id, external_id FROM items"))
            from labeler.services.weak import votes as vote_store

            lf_a, item_a, vote_a = vote_store.read(list(names))
            db.session.remove()
            votes = sorted(
                (names[lf], ext[item], vote)
                for lf, item, vote in zip(
                    lf_a.tolist(), item_a.tolist(), vote_a.tolist(), strict=True
                )
            )
            if isinstance(next(iter(data.values())), str):  # SQLite hands back JSON text
                import json

                data = {k: json.loads(v) for k, v in data.items()}
            assert data == {
                "w0": {"text": "a"},
                "w1": {"text": "b"},
                "r1": {"text": "c"},
                "r2": {"text": "d_gold"},
            }
            assert gold == [
                ("w0", 1, "spam", "wrench"),
                ("w1", 1, "ham", "wrench"),
                ("r1", 2, "negative", "import"),
            ]
            assert lfs == [
                (1, "wrench_1", "external", 1, True),
                (1, "wrench_2", "external", 1, True),
            ]
            assert votes == rows_0008 == [("wrench_1", "w0", 1), ("wrench_2", "w0", 0)]

            downgrade(revision="0002")
            with db.engine.connect() as conn:
                back = dict(_rows(conn, "SELECT external_id, data FROM items ORDER BY id"))
            if isinstance(next(iter(back.values())), str):
                import json

                back = {k: json.loads(v) for k, v in back.items()}
            assert back["w0"] == {"text": "a", "_gold_label": 1, "_weak_labels": [-1, 1, 0]}
            assert back["r1"] == {"text": "c", "_gold": "negative"}
            assert back["r2"] == {"text": "d_gold"}
        finally:
            upgrade()
            db.session.remove()
            db.engine.dispose()
