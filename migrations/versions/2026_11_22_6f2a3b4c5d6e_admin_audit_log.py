"""admin audit log: what an admin change was about (subject), kinds admin.*

Revision ID: 6f2a3b4c5d6e
Revises: 6d0a1b2c3d4e
Create Date: 2026-11-22 16:48:51.803028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6f2a3b4c5d6e"
down_revision = "6d0a1b2c3d4e"
branch_labels = None
depends_on = None

# Admin changes recorded before the audit log existed move to its kinds.
RENAMED = {
    "time_limit_rule_set": "admin.rule.set",
    "calendar_override_set": "admin.calendar.set",
    "user_deactivated": "admin.user.deactivated",
    "topic_retired": "admin.topic.retired",
}


def upgrade() -> None:
    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_history_events_kind_at", ["kind", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_history_events_subject"), ["subject"], unique=False)
    events = sa.table("history_events", sa.column("kind", sa.String))
    for old, new in RENAMED.items():
        op.execute(events.update().where(events.c.kind == old).values(kind=new))


def downgrade() -> None:
    events = sa.table("history_events", sa.column("kind", sa.String))
    for old, new in RENAMED.items():
        op.execute(events.update().where(events.c.kind == new).values(kind=old))
    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_history_events_subject"))
        batch_op.drop_index("ix_history_events_kind_at")
        batch_op.drop_column("subject")
