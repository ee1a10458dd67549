"""item vectors: sentence embeddings stored once per (item, model), read by rounds and
the similar-items route; (project_id, model, item_id) serves a project's matrix and
its "how many are ready" count.

Reviewed by hand.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_vectors',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_vectors_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_item_vectors_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'model', name=op.f('pk_item_vectors'))
    )
    op.create_index('ix_item_vectors_project_model', 'item_vectors', ['project_id', 'model', 'item_id'], unique=False)


def downgrade():
    op.drop_index('ix_item_vectors_project_model', table_name='item_vectors')
    op.drop_table('item_vectors')
