"""KPI snapshots: the month-end figures of the evaluation, frozen (kpi_snapshots, kpi_snapshot_figures).

Revision ID: 7c1d2e3f4a50
Revises: 6f2a3b4c5d6e
Create Date: 2026-11-22 16:58:42.179699
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


def downgrade() -> None:
    with op.batch_alter_table("kpi_snapshot_figures", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_snapshot_figures_subject")

    op.drop_table("kpi_snapshot_figures")
    op.drop_table("kpi_snapshots")
