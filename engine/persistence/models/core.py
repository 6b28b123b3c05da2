"""Engine tables: people, definitions and their versions, instances, the human-task projection, timers, history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime

OPEN = text("state = 'open'")
CLAIMED = text("state = 'open' AND assignee IS NOT NULL")
UNCLAIMED = text("state = 'open' AND assignee IS NULL")
GREEN = text("state = 'open' AND time_state = 'green'")
NOT_RED = text("state = 'open' AND time_state != 'red'")
RED = text("time_state = 'red'")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LoginThrottle(Base):
    """Failed sign-ins per username (existing or not, so it reveals nothing) and the lock they earned."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class DefinitionVersion(Base):
    """One immutable published version of one executable process."""

    __tablename__ = "definition_versions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(500))
    # Large and rarely needed per request: loaded on first access only.
    source_xml: Mapped[str] = mapped_column(Text, deferred=True)
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    task_properties_json: Mapped[str] = mapped_column(Text)
    start_timer: Mapped[str | None] = mapped_column(String(200))
    messages_json: Mapped[str] = mapped_column(Text, default="[]")
    forms_json: Mapped[str] = mapped_column(Text, default="{}")
    has_scripts: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DecisionFile(Base):
    """A deployed DMN file (latest row per name wins), used to resolve business rule tasks at deploy."""

    __tablename__ = "decision_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500), index=True)
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_status_key", "status", "process_key"),
        Index("ix_process_instances_business_key", "business_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    time_state: Mapped[str | None] = mapped_column(String(8))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    state_json: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_bpmn_id: Mapped[str | None] = mapped_column(String(200))
    started_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # Optimistic lock: a concurrent writer's UPDATE ... WHERE version = n matches no row.
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it once


class HumanTask(Base):
    """Projection of every human task for the inbox: typed, indexed columns, never serialized JSON."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # Disjoint on purpose: with overlapping predicates SQLite reads "assignee IS NULL" through the assignee
        # index and walks every unclaimed task (bench B4: 916 ms -> 20 ms at 1M tasks).
        Index("ix_human_tasks_open_assignee", "assignee", "due_at", sqlite_where=CLAIMED, postgresql_where=CLAIMED),
        # The group inbox: a role's unclaimed tasks within the person's units, in one index range each.
        Index(
            "ix_human_tasks_open_lane",
            "lane",
            "unit_code",
            "due_at",
            sqlite_where=UNCLAIMED,
            postgresql_where=UNCLAIMED,
        ),
        # The sweep's thresholds: only rows that can still cross them (an idle tick touches nothing; bench B5).
        Index("ix_human_tasks_open_warn", "warn_at", sqlite_where=GREEN, postgresql_where=GREEN),
        Index("ix_human_tasks_open_due", "due_at", sqlite_where=NOT_RED, postgresql_where=NOT_RED),
        # A person's completed tasks; with the state, the evaluation's completed steps per person come from the
        # index alone, in the order of the GROUP BY (bench B11).
        Index("ix_human_tasks_completed_by", "completed_by", "completed_at", "state"),
        Index("ix_human_tasks_open_next_reminder", "next_reminder_at", sqlite_where=OPEN, postgresql_where=OPEN),
        Index("ix_human_tasks_open_escalate", "escalate_at", sqlite_where=OPEN, postgresql_where=OPEN),
        Index("ix_human_tasks_instance_step", "instance_id", "bpmn_id"),
        # The supervisors' board: open tasks counted by unit, step or person and time state, from the index alone
        # (bench B11), and its items, worst and earliest due first.
        Index(
            "ix_human_tasks_open_board",
            "unit_code",
            "time_state",
            "bpmn_id",
            "assignee",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index("ix_human_tasks_open_time", "time_state", "due_at", sqlite_where=OPEN, postgresql_where=OPEN),
        # The board by topic: each open task's instance and time state from the index alone, joined to its case
        # through ix_cases_instance_topic (bench B11). The predicate's columns are repeated as key columns so that
        # SQLite counts the index as covering.
        Index(
            "ix_human_tasks_open_instance",
            "instance_id",
            "time_state",
            "state",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        # The evaluation's overdue cases: one probe per case into the red tasks alone, never the task rows.
        Index(
            "ix_human_tasks_red_instance", "instance_id", "time_state", "state", sqlite_where=RED, postgresql_where=RED
        ),
        # The evaluation's completed steps of a period, per unit or person, from the index alone (bench B11).
        Index("ix_human_tasks_completed_at", "completed_at", "state", "unit_code", "completed_by"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(80))
    assignee: Mapped[str | None] = mapped_column(String(80))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    form_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    time_state: Mapped[str] = mapped_column(String(8), default="green")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    warn_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    # While red: when the next daily reminder is due, and when the supervisor is told (once).
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    escalate_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Timer(Base):
    """A BPMN timer an instance waits on, or the next firing of a timer start event; claimed with a lease."""

    __tablename__ = "timers"
    __table_args__ = (
        Index(
            "ix_timers_pending_due",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    definition_version_id: Mapped[int | None] = mapped_column(ForeignKey("definition_versions.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    repeats_left: Mapped[int | None] = mapped_column(Integer)  # start cycles: None = forever
    status: Mapped[str] = mapped_column(String(16))
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class MessageWait(Base):
    """Projection of the messages each running instance waits for, for routing POST /messages."""

    __tablename__ = "message_waits"

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    business_key: Mapped[str | None] = mapped_column(String(200))


class HistoryEvent(Base):
    """Append-only history: who did what, when, with which data (admin changes: what about, before and after)."""

    __tablename__ = "history_events"
    # The audit log reads admin.* kinds newest first.
    __table_args__ = (Index("ix_history_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    data_json: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
