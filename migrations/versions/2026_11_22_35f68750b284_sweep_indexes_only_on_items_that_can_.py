"""sweep indexes only on items that can still cross

Revision ID: 35f68750b284
Revises: 5066b5c9faa0
Create Date: 2026-11-22 15:46:24.186719
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

OPEN = "state = 'open'"
GREEN = "state = 'open' AND time_state = 'green'"
NOT_RED = "state = 'open' AND time_state != 'red'"
INDEXES = [
    ("human_tasks", "ix_human_tasks_open_warn", "warn_at", GREEN),
    ("human_tasks", "ix_human_tasks_open_due", "due_at", NOT_RED),
    ("archive_obligations", "ix_obligations_open_warn", "warn_at", GREEN),
    ("archive_obligations", "ix_obligations_open_due", "due_at", NOT_RED),
]

revision = "35f68750b284"
down_revision = "5066b5c9faa0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Index only the rows that can still cross a threshold: an idle sweep then reads nothing (bench B5).
    for table, index, column, where in INDEXES:
        op.drop_index(index, table_name=table)
        op.create_index(index, table, [column], sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for table, index, column, _ in INDEXES:
        op.drop_index(index, table_name=table)
        op.create_index(index, table, [column], sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
