"""When entries, site profiles and themes were last reviewed (kept apart from the date of the
work and the date an entry was added), and why an evidence entry has its strength

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('entry', 'site', 'theme'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('reviewed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('entry') as batch_op:
        batch_op.add_column(sa.Column('evidence_strength_reason', sa.String(length=400), nullable=True))


def downgrade():
    with op.batch_alter_table('entry') as batch_op:
        batch_op.drop_column('evidence_strength_reason')
    for table in ('entry', 'site', 'theme'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('reviewed_on')
