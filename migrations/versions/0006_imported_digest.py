"""Entries, sites and themes remember the record they were last imported as (the import rule)

Each row gets ``imported_digest``: the SHA-256 of the record its content file held when import
last applied (or agreed with) it. Import compares it with the file and with the row as it is now
to tell a changed file from a change made on the web (see docs/content-format.md).

Rows that exist before this migration start with no digest; the importer works out their
baseline the first time it meets them (an entry's latest "Imported from" revision; a site or
theme that the audit log shows no admin save for is taken as imported as it is), so nothing here
needs the application's code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('entry', 'site', 'theme')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('imported_digest', sa.String(length=64), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('imported_digest')
