"""items browse index: items(project_id, id) for the item browser's keyset pages
(``WHERE project_id = :p AND id > :after ORDER BY id LIMIT n``).

Reviewed by hand.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_items_project_id', 'items', ['project_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_items_project_id', table_name='items')
