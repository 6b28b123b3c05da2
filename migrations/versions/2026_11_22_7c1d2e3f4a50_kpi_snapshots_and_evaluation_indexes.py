"""KPI snapshots (the month-end figures of the evaluation, frozen) and the indexes the board and the KPI
queries read through (bench B11).

Revision ID: 7c1d2e3f4a50
Revises: 6f2a3b4c5d6e
Create Date: 2026-11-22 17:31:40.411988
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = "7c1d2e3f4a50"
down_revision = "6f2a3b4c5d6e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_snapshots",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("frozen_at", engine.persistence.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_kpi_snapshots")),
    )
    op.create_table(
        "kpi_snapshot_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=80), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("figure", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["period"],
            ["kpi_snapshots.period"],
            name=op.f("fk_kpi_snapshot_figures_period_kpi_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshot_figures")),
        sa.UniqueConstraint("period", "level", "subject_key", "figure", name=op.f("uq_kpi_snapshot_figures_period")),
    )
    with op.batch_alter_table("kpi_snapshot_figures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kpi_snapshot_figures_subject", ["level", "subject_key", "figure", "period"], unique=False
        )

    with op.batch_alter_table("archive_obligations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_obligations_due_at", ["due_at", "unit_code", "responsible", "state", "is_on_time"], unique=False
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_closed_at",
            ["closed_at", "created_at", "unit_code", "handler", "status", "instance_id"],
            unique=False,
        )

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_human_tasks_completed_at", ["completed_at", "state", "unit_code", "completed_by"], unique=False
        )
        batch_op.create_index(
            "ix_human_tasks_open_board",
            ["unit_code", "time_state", "bpmn_id", "assignee"],
            unique=False,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.create_index(
            "ix_human_tasks_open_time",
            ["time_state", "due_at"],
            unique=False,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    with op.batch_alter_table("rectification_rounds", schema=None) as batch_op:
        batch_op.create_index("ix_rectification_rounds_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rectification_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_rectification_rounds_created_at")

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_human_tasks_open_time",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index(
            "ix_human_tasks_open_board",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index("ix_human_tasks_completed_at")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_closed_at")

    with op.batch_alter_table("archive_obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_due_at")

    with op.batch_alter_table("kpi_snapshot_figures", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_snapshot_figures_subject")

    op.drop_table("kpi_snapshot_figures")
    op.drop_table("kpi_snapshots")
