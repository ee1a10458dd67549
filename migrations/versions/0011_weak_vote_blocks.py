"""weak vote blocks: LF votes packed per LF version and range of item ids
(weak_vote_blocks) instead of one row per vote (weak_votes). A row per vote made
an apply of 50 LFs to 1,000,000 items insert ~20 million rows, slower than the
whole rest of the weak round; blocks are ~10,000 rows for the same votes. The
existing votes move into one block per LF.

Reviewed by hand.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:50:00

"""
from alembic import op
import numpy as np
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ITEM_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SPAN = 2**32 - 1


def upgrade():
    op.create_table(
        "weak_vote_blocks",
        sa.Column("lf_id", sa.Integer(), nullable=False),
        sa.Column("lo", ITEM_ID, nullable=False),
        sa.Column("hi", ITEM_ID, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("items", sa.LargeBinary(), nullable=False),
        sa.Column("votes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lf_id"],
            ["labeling_functions.id"],
            name=op.f("fk_weak_vote_blocks_lf_id_labeling_functions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lf_id", "lo", name=op.f("pk_weak_vote_blocks")),
    )
    conn = op.get_bind()
    blocks = sa.table(
        "weak_vote_blocks",
        sa.column("lf_id"), sa.column("lo"), sa.column("hi"), sa.column("n"),
        sa.column("items"), sa.column("votes"),
    )
    lf_ids = [r[0] for r in conn.execute(sa.text("SELECT DISTINCT lf_id FROM weak_votes"))]
    for lf_id in lf_ids:
        rows = conn.execute(
            sa.text("SELECT item_id, vote FROM weak_votes WHERE lf_id = :lf ORDER BY item_id"),
            {"lf": lf_id},
        ).all()
        items = np.asarray([r[0] for r in rows], dtype=np.int64)
        votes = np.asarray([r[1] for r in rows], dtype=np.int64)
        # One block per 2**32 ids (the offsets are uint32), from the first voted item.
        start = 0
        while start < len(items):
            lo = int(items[start])
            end = int(np.searchsorted(items, lo + _SPAN, side="right"))
            part = items[start:end]
            conn.execute(
                blocks.insert(),
                {
                    "lf_id": lf_id,
                    "lo": lo,
                    "hi": int(part[-1]),
                    "n": len(part),
                    "items": (part - lo).astype("<u4").tobytes(),
                    "votes": votes[start:end].astype("<i2").tobytes(),
                },
            )
            start = end
    with op.batch_alter_table("weak_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_weak_votes_item")
    op.drop_table("weak_votes")


def downgrade():
    op.create_table(
        "weak_votes",
        sa.Column("lf_id", sa.Integer(), nullable=False),
        sa.Column("item_id", ITEM_ID, nullable=False),
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
    conn = op.get_bind()
    existing = {r[0] for r in conn.execute(sa.text("SELECT id FROM items"))}
    votes_t = sa.table("weak_votes", sa.column("lf_id"), sa.column("item_id"), sa.column("vote"))
    for lf_id, lo, items, votes in conn.execute(
        sa.text("SELECT lf_id, lo, items, votes FROM weak_vote_blocks")
    ).all():
        its = np.frombuffer(items, dtype="<u4").astype(np.int64) + int(lo)
        vs = np.frombuffer(votes, dtype="<i2")
        rows = [
            {"lf_id": lf_id, "item_id": int(i), "vote": int(v)}
            for i, v in zip(its, vs)
            if int(i) in existing
        ]
        if rows:
            conn.execute(votes_t.insert(), rows)
    op.drop_table("weak_vote_blocks")
