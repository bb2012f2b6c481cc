"""Private feed keys: one per member, stored as a digest, revocable

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'feed_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_feed_token_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_token')),
        sa.UniqueConstraint('user_id', name=op.f('uq_feed_token_user_id')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_feed_token_token_digest')),
    )


def downgrade():
    op.drop_table('feed_token')
