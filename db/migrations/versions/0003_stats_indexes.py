"""indexes for the statistics (周调度/月通报)

Covering indexes so that the period aggregates read index entries instead of
event and case rows, and a case's state at a period's end is found without
scanning the cases untouched since.

Revision ID: 0003
Revises: 0001
"""
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_stats',
                              ['action', 'at', 'case_id', 'seq', 'holder_unit_id', 'due_at'])
        batch_op.create_index('ix_case_events_case_seq_stats',
                              ['case_id', 'seq', 'action', 'at', 'to_state', 'holder_unit_id',
                               'due_at'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_updated', ['updated_at'])
        batch_op.create_index('ix_cases_created_keys', ['created_at', 'category_id', 'community_id'])


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_created_keys')
        batch_op.drop_index('ix_cases_updated')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_seq_stats')
        batch_op.drop_index('ix_case_events_stats')
