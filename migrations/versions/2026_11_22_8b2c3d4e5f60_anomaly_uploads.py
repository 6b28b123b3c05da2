"""anomaly uploads

Revision ID: 8b2c3d4e5f60
Revises: 8a1b2c3d4e5f
Create Date: 2026-11-22 17:07:59.950197
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.persistence.base

revision = "8b2c3d4e5f60"
down_revision = "8a1b2c3d4e5f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anomaly_upload_mappings",
        sa.Column("topic_code", sa.String(length=64), nullable=False),
        sa.Column("mapping_json", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", engine.persistence.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic_code", name=op.f("pk_anomaly_upload_mappings")),
    )
    op.create_table(
        "anomaly_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_code", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", engine.persistence.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("headers_json", sa.Text(), nullable=False),
        sa.Column("rows_json", sa.Text(), nullable=False),
        sa.Column("row_numbers_json", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_uploads")),
    )
    with op.batch_alter_table("anomaly_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anomaly_uploads_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_anomaly_uploads_uploaded_at", ["uploaded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("anomaly_uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_anomaly_uploads_uploaded_at")
        batch_op.drop_index(batch_op.f("ix_anomaly_uploads_batch_id"))

    op.drop_table("anomaly_uploads")
    op.drop_table("anomaly_upload_mappings")
