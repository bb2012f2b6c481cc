"""Indexes for the browse pages, and the data version that cached counts are keyed by

Home, theme and site pages filter entries on status and visibility and sort them on date and
title. On SQLite an entry's row holds its body (kilobytes, in overflow pages) *before* those
columns, so every row such a query touched meant reading through the body: 60–90 ms a query
at 10,000 entries. The composite indexes below hold every column those queries read, so they
never touch an entry's row:

* ``ix_entry_listing`` (status, visibility, published_on, title, type): latest entries, counts
  by type, and the entry side of the theme counts and theme pages (it replaces
  ``ix_entry_status``, which is its first column);
* ``ix_entry_site_listing`` (site_id, status, visibility, published_on, title): a site's entries;
* ``ix_theme_tag_theme_listing`` (theme_id, polarity, entry_id): one side of a theme (it replaces
  ``ix_theme_tag_theme_id``);
* ``ix_entry_other_site_site`` (site_id, entry_id): the entries that involve a site.

``data_version`` is one row whose number every commit that changes readable data moves (see
``kb/services/dataversion.py``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    op.bulk_insert(sa.table('data_version', sa.column('id', sa.Integer()), sa.column('version', sa.BigInteger())),
                   [{'id': 1, 'version': 1}])
    op.create_index('ix_entry_listing', 'entry', ['status', 'visibility', 'published_on', 'title', 'type'])
    op.create_index('ix_entry_site_listing', 'entry', ['site_id', 'status', 'visibility', 'published_on', 'title'])
    op.create_index('ix_theme_tag_theme_listing', 'theme_tag', ['theme_id', 'polarity', 'entry_id'])
    op.create_index('ix_entry_other_site_site', 'entry_other_site', ['site_id', 'entry_id'])
    op.drop_index('ix_entry_status', table_name='entry')
    op.drop_index('ix_theme_tag_theme_id', table_name='theme_tag')


def downgrade():
    op.create_index('ix_theme_tag_theme_id', 'theme_tag', ['theme_id'])
    op.create_index('ix_entry_status', 'entry', ['status'])
    op.drop_index('ix_entry_other_site_site', table_name='entry_other_site')
    op.drop_index('ix_theme_tag_theme_listing', table_name='theme_tag')
    op.drop_index('ix_entry_site_listing', table_name='entry')
    op.drop_index('ix_entry_listing', table_name='entry')
    op.drop_table('data_version')
