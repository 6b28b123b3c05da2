"""Covering indexes for the board by topic and the evaluation KPIs (bench B11): open tasks by instance, red tasks
by instance, cases by instance with their topic and by id with their unit and handler, and a person's completed
tasks with their state.

Revision ID: 9d4e5f607182
Revises: 9c3d4e5f6071
Create Date: 2026-11-22 18:31:20.770558
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9d4e5f607182"
down_revision = "9c3d4e5f6071"
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")
RED = sa.text("time_state = 'red'")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_instance_topic", ["instance_id", "topic_code"], unique=False)
        batch_op.create_index("ix_cases_id_unit_handler", ["id", "created_at", "unit_code", "handler"], unique=False)

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_completed_by")
        batch_op.create_index("ix_human_tasks_completed_by", ["completed_by", "completed_at", "state"], unique=False)
        batch_op.create_index(
            "ix_human_tasks_open_instance",
            ["instance_id", "time_state", "state"],
            unique=False,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )
        batch_op.create_index(
            "ix_human_tasks_red_instance",
            ["instance_id", "time_state", "state"],
            unique=False,
            sqlite_where=RED,
            postgresql_where=RED,
        )


def downgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_red_instance", sqlite_where=RED, postgresql_where=RED)
        batch_op.drop_index("ix_human_tasks_open_instance", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index("ix_human_tasks_completed_by")
        batch_op.create_index("ix_human_tasks_completed_by", ["completed_by", "completed_at"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_id_unit_handler")
        batch_op.drop_index("ix_cases_instance_topic")
