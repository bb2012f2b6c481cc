"""Digest delivery log: one row per member and period (unique), and one per send-digests run

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'digest_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_run')),
    )
    op.create_table(
        'digest_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('period_key', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum('claimed', 'sent', 'failed', name='digest_delivery_status', native_enum=False,
                                    create_constraint=True), nullable=False),
        sa.Column('claim_token', sa.String(length=32), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('subscription_ids', sa.Text(), nullable=False),
        sa.Column('entry_ids', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_digest_delivery_user_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['run_id'], ['digest_run.id'], name=op.f('fk_digest_delivery_run_id_digest_run'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_delivery')),
        sa.UniqueConstraint('user_id', 'period_key', name=op.f('uq_digest_delivery_user_id_period_key')),
    )
    with op.batch_alter_table('digest_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_delivery_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_digest_delivery_run_id'), ['run_id'], unique=False)


def downgrade():
    op.drop_table('digest_delivery')
    op.drop_table('digest_run')
