"""A durable queue of search index updates, written in the same transaction as the change

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'index_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_index_queue')),
    )
    with op.batch_alter_table('index_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_index_queue_entry_id'), ['entry_id'], unique=False)


def downgrade():
    with op.batch_alter_table('index_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_index_queue_entry_id'))
    op.drop_table('index_queue')
