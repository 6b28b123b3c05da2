"""disjoint inbox indexes

Revision ID: cbb83e273940
Revises: 13c1c834ca28
Create Date: 2026-11-22 15:04:14.943835
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

OPEN = "state = 'open'"
CLAIMED = "state = 'open' AND assignee IS NOT NULL"
UNCLAIMED = "state = 'open' AND assignee IS NULL"

revision = "cbb83e273940"
down_revision = "13c1c834ca28"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Disjoint predicates so SQLite picks the lane index for unclaimed tasks (bench B4).
    op.drop_index("ix_human_tasks_open_assignee", table_name="human_tasks")
    op.drop_index("ix_human_tasks_open_lane", table_name="human_tasks")
    op.create_index(
        "ix_human_tasks_open_assignee",
        "human_tasks",
        ["assignee", "due_at"],
        sqlite_where=sa.text(CLAIMED),
        postgresql_where=sa.text(CLAIMED),
    )
    op.create_index(
        "ix_human_tasks_open_lane",
        "human_tasks",
        ["lane", "due_at"],
        sqlite_where=sa.text(UNCLAIMED),
        postgresql_where=sa.text(UNCLAIMED),
    )


def downgrade() -> None:
    op.drop_index("ix_human_tasks_open_assignee", table_name="human_tasks")
    op.drop_index("ix_human_tasks_open_lane", table_name="human_tasks")
    op.create_index(
        "ix_human_tasks_open_assignee",
        "human_tasks",
        ["assignee", "due_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_human_tasks_open_lane",
        "human_tasks",
        ["lane", "due_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
