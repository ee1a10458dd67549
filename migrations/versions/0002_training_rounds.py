"""training rounds: one row per active-learning round; at most one in flight per
project (partial unique index); an index to count labels since the last round.

Reviewed by hand.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:08:27.848054

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('strategy', sa.String(length=32), nullable=False),
    sa.Column('strategy_used', sa.String(length=32), nullable=True),
    sa.Column('cold_start', sa.Boolean(), nullable=False),
    sa.Column('max_annotation_id', sa.Integer(), nullable=False),
    sa.Column('n_labels', sa.Integer(), nullable=True),
    sa.Column('n_ranked', sa.Integer(), nullable=True),
    sa.Column('cv_accuracy', sa.Float(), nullable=True),
    sa.Column('cv_macro_f1', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_training_rounds_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_rounds'))
    )
    with op.batch_alter_table('training_rounds', schema=None) as batch_op:
        batch_op.create_index('ix_training_rounds_project', ['project_id', 'id'], unique=False)
        batch_op.create_index('uq_training_rounds_in_flight', ['project_id'], unique=True, postgresql_where=sa.text("status IN ('queued', 'running')"), sqlite_where=sa.text("status IN ('queued', 'running')"))

    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index('ix_annotations_recent', ['project_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('ix_annotations_recent')

    with op.batch_alter_table('training_rounds', schema=None) as batch_op:
        batch_op.drop_index('uq_training_rounds_in_flight', postgresql_where=sa.text("status IN ('queued', 'running')"), sqlite_where=sa.text("status IN ('queued', 'running')"))
        batch_op.drop_index('ix_training_rounds_project')

    op.drop_table('training_rounds')
