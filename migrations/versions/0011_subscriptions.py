"""Members' subscriptions: saved searches, followed sites and themes, digest frequency

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('search', 'site', 'theme', name='subscription_kind', native_enum=False,
                                  create_constraint=True), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('frequency', sa.Enum('daily', 'weekly', 'off', name='subscription_frequency', native_enum=False,
                                       create_constraint=True), nullable=False),
        sa.Column('q', sa.String(length=500), nullable=False),
        sa.Column('type', sa.String(length=20), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('theme_id', sa.Integer(), nullable=True),
        sa.Column('polarity', sa.String(length=10), nullable=True),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('strength', sa.Integer(), nullable=True),
        sa.Column('filters_key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_subscription_user_id_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_subscription_site_id_site'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], name=op.f('fk_subscription_theme_id_theme'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
        sa.UniqueConstraint('user_id', 'filters_key', name=op.f('uq_subscription_user_id_filters_key')),
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_theme_id'), ['theme_id'], unique=False)


def downgrade():
    op.drop_table('subscription')
