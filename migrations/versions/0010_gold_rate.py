"""gold items and weak labels in training: items.is_gold (an engineer's gold item,
kept out of the open queue and served to every rater once) with a partial index of
a project's gold items; projects.gold_rate (the share of ``next`` that serves one),
projects.train_on_weak and projects.weak_min_confidence (active learning also trains
on confident label-model and propagation labels); training_rounds.n_weak_labels.

Existing gold_labels rows (imported evaluation answers) do not become gold items:
only an engineer's marking does (PUT .../gold, ``labeler gold import``).

Reviewed by hand.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, no batch copy: SQLite (>= 3.35) does both in place, and a
# batch copy of ``items`` would rebuild its hand-written queue index from reflection.


def upgrade():
    op.add_column(
        'items', sa.Column('is_gold', sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(
        'ix_items_gold',
        'items',
        ['project_id', 'id'],
        unique=False,
        postgresql_where=sa.text('is_gold'),
        sqlite_where=sa.text('is_gold = 1'),
    )
    op.add_column(
        'projects', sa.Column('gold_rate', sa.Float(), server_default=sa.text('0'), nullable=False)
    )
    op.add_column(
        'projects',
        sa.Column('train_on_weak', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        'projects',
        sa.Column(
            'weak_min_confidence', sa.Float(), server_default=sa.text('0.9'), nullable=False
        ),
    )
    op.add_column('training_rounds', sa.Column('n_weak_labels', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('training_rounds', 'n_weak_labels')
    op.drop_column('projects', 'weak_min_confidence')
    op.drop_column('projects', 'train_on_weak')
    op.drop_column('projects', 'gold_rate')
    op.drop_index(
        'ix_items_gold',
        table_name='items',
        postgresql_where=sa.text('is_gold'),
        sqlite_where=sa.text('is_gold = 1'),
    )
    op.drop_column('items', 'is_gold')
