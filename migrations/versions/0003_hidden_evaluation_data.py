"""hidden evaluation data and import batches: gold_labels, labeling_functions,
weak_votes (sparse label matrix), import_batches and import_rows (staging);
moves _gold, _gold_label and _weak_labels out of items.data.

Reviewed by hand. The data move:

- ``_gold`` -> a GoldLabel with the value as a string (source "import");
- ``_gold_label`` (written by WRENCH imports, an index into the label set) ->
  a GoldLabel with that label's name (source "wrench"); a value that is not an
  index (or is already a name) is kept as a string;
- ``_weak_labels`` (one vote per column, -1 = abstain) -> one external labeling
  function per column per project (``wrench_0``, ``wrench_1``, ...) and one
  WeakVote per non-abstain vote;
- the keys are removed from ``items.data``.

Items are read in keyset-paginated chunks and only those whose data mentions
one of the keys are rewritten, on SQLite and PostgreSQL alike. The downgrade
puts the keys back before dropping the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00.000000

"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HIDDEN = ("_gold", "_gold_label", "_weak_labels")
CHUNK = 1000


def upgrade():
    op.create_table(
        "gold_labels",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", BIGINT, nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_gold_labels_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_gold_labels_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_labels")),
        sa.UniqueConstraint("item_id", name=op.f("uq_gold_labels_item_id")),
    )
    with op.batch_alter_table("gold_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gold_labels_project_id"), ["project_id"], unique=False)

    op.create_table(
        "labeling_functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_labeling_functions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labeling_functions")),
        sa.UniqueConstraint(
            "project_id",
            "name",
            "version",
            name=op.f("uq_labeling_functions_project_id_name_version"),
        ),
    )
    op.create_table(
        "weak_votes",
        sa.Column("lf_id", sa.Integer(), nullable=False),
        sa.Column("item_id", BIGINT, nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_weak_votes_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lf_id"],
            ["labeling_functions.id"],
            name=op.f("fk_weak_votes_lf_id_labeling_functions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lf_id", "item_id", name=op.f("pk_weak_votes")),
    )
    with op.batch_alter_table("weak_votes", schema=None) as batch_op:
        batch_op.create_index("ix_weak_votes_item", ["item_id"], unique=False)

    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("published_upto", sa.Integer(), nullable=False),
        sa.Column("n_created", sa.Integer(), nullable=False),
        sa.Column("n_updated", sa.Integer(), nullable=False),
        sa.Column("n_unchanged", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_import_batches_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index("ix_import_batches_project", ["project_id", "status"], unique=False)

    op.create_table(
        "import_rows",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("seq", BIGINT, nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("priority", sa.Float(), nullable=True),
        sa.Column("gold", sa.String(length=120), nullable=True),
        sa.Column("gold_source", sa.String(length=16), nullable=True),
        sa.Column("votes", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_import_rows_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_import_rows")),
    )

    _move_hidden_fields()
    _queue_index_sqlite("is_open = 1")


def _queue_index_sqlite(predicate):
    """SQLite only: the queue's partial index with the predicate SQLAlchemy's queries use.

    0001 wrote ``WHERE is_open``; SQLAlchemy renders ``Item.is_open`` as
    ``is_open = 1`` on SQLite, which SQLite does not match to that index, so
    ``next`` scanned and sorted the whole project (2 s at 100,000 items).
    """
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_open_queue")
        batch_op.create_index(
            "ix_items_open_queue",
            ["project_id", sa.text("priority DESC"), "id"],
            unique=False,
            sqlite_where=sa.text(predicate),
        )


# ---------------------------------------------------------------- the data move
_items = sa.table(
    "items", sa.column("id", BIGINT), sa.column("project_id", sa.Integer()), sa.column("data", JSON)
)
_labels = sa.table(
    "labels",
    sa.column("project_id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("position", sa.Integer()),
)
_gold = sa.table(
    "gold_labels",
    sa.column("project_id", sa.Integer()),
    sa.column("item_id", BIGINT),
    sa.column("label", sa.String()),
    sa.column("source", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_lfs = sa.table(
    "labeling_functions",
    sa.column("id", sa.Integer()),
    sa.column("project_id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_votes = sa.table(
    "weak_votes",
    sa.column("lf_id", sa.Integer()),
    sa.column("item_id", BIGINT),
    sa.column("vote", sa.Integer()),
)


def _mentions_hidden():
    # A cheap superset filter on the JSON text ('_' is a LIKE wildcard: still a superset);
    # the exact keys are checked in Python.
    text = sa.cast(_items.c.data, sa.Text)
    return sa.or_(text.like("%_gold%"), text.like("%_weak_labels%"))


def _move_hidden_fields():
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    label_names = {}
    for project_id, name, position in conn.execute(
        sa.select(_labels.c.project_id, _labels.c.name, _labels.c.position).order_by(
            _labels.c.project_id, _labels.c.position
        )
    ):
        label_names.setdefault(project_id, []).append(name)
    lf_ids = {}  # (project_id, column) -> id

    def lf_id(project_id, column):
        key = (project_id, column)
        if key not in lf_ids:
            name = f"wrench_{column}"
            found = conn.scalar(
                sa.select(_lfs.c.id).where(
                    _lfs.c.project_id == project_id, _lfs.c.name == name, _lfs.c.version == 1
                )
            )
            if found is None:
                conn.execute(
                    _lfs.insert().values(
                        project_id=project_id,
                        name=name,
                        kind="external",
                        version=1,
                        active=True,
                        created_at=now,
                    )
                )
                found = conn.scalar(
                    sa.select(_lfs.c.id).where(
                        _lfs.c.project_id == project_id, _lfs.c.name == name, _lfs.c.version == 1
                    )
                )
            lf_ids[key] = found
        return lf_ids[key]

    last = 0
    while True:
        rows = conn.execute(
            sa.select(_items.c.id, _items.c.project_id, _items.c.data)
            .where(_items.c.id > last, _mentions_hidden())
            .order_by(_items.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        gold, votes = [], []
        for item_id, project_id, data in rows:
            if not isinstance(data, dict) or not any(key in data for key in HIDDEN):
                continue
            data = dict(data)
            value = data.pop("_gold", None)
            source = "import"
            wrench = data.pop("_gold_label", None)
            if value is None and wrench is not None:
                value, source = wrench, "wrench"
                names = label_names.get(project_id, [])
                if isinstance(wrench, int) and not isinstance(wrench, bool):
                    value = (
                        names[wrench]
                        if 0 <= wrench < len(names)
                        else (None if wrench == -1 else wrench)
                    )
            if value is not None and value != "":
                gold.append(
                    {
                        "project_id": project_id,
                        "item_id": item_id,
                        "label": str(value)[:120],
                        "source": source,
                        "created_at": now,
                    }
                )
            weak = data.pop("_weak_labels", None)
            if isinstance(weak, list):
                for column, vote in enumerate(weak):
                    if isinstance(vote, int) and not isinstance(vote, bool) and vote != -1:
                        votes.append(
                            {"lf_id": lf_id(project_id, column), "item_id": item_id, "vote": vote}
                        )
            conn.execute(_items.update().where(_items.c.id == item_id).values(data=data))
        if gold:
            conn.execute(_gold.insert(), gold)
        if votes:
            conn.execute(_votes.insert(), votes)


def _restore_hidden_fields():
    conn = op.get_bind()
    names = {}
    for project_id, name, position in conn.execute(
        sa.select(_labels.c.project_id, _labels.c.name, _labels.c.position)
    ):
        names[(project_id, name)] = position
    restored = {}
    for item_id, project_id, label, source in conn.execute(
        sa.select(_gold.c.item_id, _gold.c.project_id, _gold.c.label, _gold.c.source)
    ):
        if source == "wrench":
            restored.setdefault(item_id, {})["_gold_label"] = names.get((project_id, label), label)
        else:
            restored.setdefault(item_id, {})["_gold"] = label
    columns = {}
    for lf, name in conn.execute(
        sa.select(_lfs.c.id, _lfs.c.name).where(
            _lfs.c.kind == "external", _lfs.c.name.like("wrench%")
        )
    ):
        columns[lf] = int(name.rsplit("_", 1)[1])
    width = {}
    for lf, item_id, vote in conn.execute(
        sa.select(_votes.c.lf_id, _votes.c.item_id, _votes.c.vote)
    ):
        if lf in columns:
            restored.setdefault(item_id, {}).setdefault("_weak_labels", {})[columns[lf]] = vote
    n = max(columns.values(), default=-1) + 1
    for item_id, extra in restored.items():
        data = dict(conn.scalar(sa.select(_items.c.data).where(_items.c.id == item_id)) or {})
        if "_weak_labels" in extra:
            sparse = extra.pop("_weak_labels")
            extra["_weak_labels"] = [sparse.get(k, -1) for k in range(n)]
        data.update(extra)
        conn.execute(_items.update().where(_items.c.id == item_id).values(data=data))


def downgrade():
    _queue_index_sqlite("is_open")
    _restore_hidden_fields()
    op.drop_table("import_rows")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_import_batches_project")

    op.drop_table("import_batches")
    with op.batch_alter_table("weak_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_weak_votes_item")

    op.drop_table("weak_votes")
    op.drop_table("labeling_functions")
    with op.batch_alter_table("gold_labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gold_labels_project_id"))

    op.drop_table("gold_labels")
