"""group inbox index by unit

Revision ID: 783a9172f010
Revises: 35f68750b284
Create Date: 2026-11-22 15:48:07.990149
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UNCLAIMED = "state = 'open' AND assignee IS NULL"

revision = "783a9172f010"
down_revision = "35f68750b284"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The unit joins the index so a person's group inbox is an index range per unit (bench B-inbox-page).
    op.drop_index("ix_human_tasks_open_lane", table_name="human_tasks")
    op.create_index(
        "ix_human_tasks_open_lane",
        "human_tasks",
        ["lane", "unit_code", "due_at"],
        sqlite_where=sa.text(UNCLAIMED),
        postgresql_where=sa.text(UNCLAIMED),
    )


def downgrade() -> None:
    op.drop_index("ix_human_tasks_open_lane", table_name="human_tasks")
    op.create_index(
        "ix_human_tasks_open_lane",
        "human_tasks",
        ["lane", "due_at"],
        sqlite_where=sa.text(UNCLAIMED),
        postgresql_where=sa.text(UNCLAIMED),
    )
