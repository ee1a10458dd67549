"""weak supervision: LF definitions (spec, python source, author) on labeling_functions,
per-LF-version apply state (votes complete up to an item id), label-model and
propagation runs with their per-item results; items whose data a re-import changed
(weak_dirty_items) until LFs are re-applied to them.

Reviewed by hand.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:08:22.441171

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('weak_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lf_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_weak_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_weak_runs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weak_runs'))
    )
    with op.batch_alter_table('weak_runs', schema=None) as batch_op:
        batch_op.create_index('ix_weak_runs_project', ['project_id', 'kind', 'status', 'id'], unique=False)

    op.create_table('lf_apply_state',
    sa.Column('lf_id', sa.Integer(), nullable=False),
    sa.Column('applied_upto', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('n_votes', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lf_id'], ['labeling_functions.id'], name=op.f('fk_lf_apply_state_lf_id_labeling_functions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lf_id', name=op.f('pk_lf_apply_state'))
    )
    op.create_table('weak_results',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.SmallInteger(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('covered', sa.Boolean(), nullable=False),
    sa.Column('proba', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_weak_results_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['weak_runs.id'], name=op.f('fk_weak_results_run_id_weak_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'item_id', name=op.f('pk_weak_results'))
    )
    op.create_table('weak_dirty_items',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_weak_dirty_items_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_weak_dirty_items_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_weak_dirty_items'))
    )
    with op.batch_alter_table('weak_dirty_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_weak_dirty_items_project_id'), ['project_id'], unique=False)

    # SQLite adds a foreign key only by copying the table (batch); migrations/env.py runs
    # SQLite migrations with foreign keys off, so dropping the old copy cascades nowhere.
    with op.batch_alter_table('labeling_functions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spec', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_labeling_functions_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('weak_dirty_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_weak_dirty_items_project_id'))
    op.drop_table('weak_dirty_items')
    op.drop_table('weak_results')
    op.drop_table('lf_apply_state')
    with op.batch_alter_table('weak_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_weak_runs_project')
    op.drop_table('weak_runs')

    with op.batch_alter_table('labeling_functions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_labeling_functions_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('source')
        batch_op.drop_column('spec')
