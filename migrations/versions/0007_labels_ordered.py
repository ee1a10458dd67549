"""labels ordered: projects.labels_ordered marks the label set as an ordered scale
(e.g. 1-5 stars), so agreement uses Krippendorff's ordinal alpha instead of nominal.

Reviewed by hand.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('labels_ordered', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('labels_ordered')
