"""a covering index for hotspots and repeat complaints

Hotspots and repeat complaints count the cases created in a range of time by
category, community, and reporter phone: with the phone in the index, those
counts read index entries only, never the case rows.  It supersedes
ix_cases_created_keys (created_at, category_id, community_id).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_created_repeat',
                              ['created_at', 'reporter_phone', 'community_id', 'category_id'])
    # IF EXISTS: databases built while 0003 was being written lack it.
    op.execute("DROP INDEX IF EXISTS ix_cases_created_keys")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_created_keys', ['created_at', 'category_id', 'community_id'])
        batch_op.drop_index('ix_cases_created_repeat')
