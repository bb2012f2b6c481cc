"""Entries keep their body as plain text for the search index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:10:00

Existing rows are left NULL ("not derived yet"): the search index converts those bodies itself,
and the next save of each entry fills the column in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry') as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('entry') as batch_op:
        batch_op.drop_column('body_text')
