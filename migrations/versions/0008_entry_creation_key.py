"""Entries remember the key of the form that created them, once: a form posted twice makes one entry

``entry.creation_key`` is the new-entry form's random submission key, unique, so that several
posts of one form racing each other cannot create two entries (the losers hit the constraint,
start again and find the winner's entry). Entries made before this migration, by import or
from files, have none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creation_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_entry_creation_key'), ['creation_key'])


def downgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_entry_creation_key'), type_='unique')
        batch_op.drop_column('creation_key')
