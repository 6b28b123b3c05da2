"""Audit-loop records: the unit tree, topics, cases, rectification rounds, white list, documents, supervision."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime


class Unit(Base):
    """An organisational unit: city company -> district/county bureau -> supply station."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Topic(Base):
    """One version of an audit topic (a standing audit rule) and where it stands."""

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    business_area: Mapped[str] = mapped_column(String(64))
    criteria: Mapped[str] = mapped_column(Text, default="")
    thresholds_json: Mapped[str] = mapped_column(Text, default="{}")
    data_source: Mapped[str] = mapped_column(String(500), default="")
    scope_json: Mapped[str] = mapped_column(Text, default="[]")
    argument: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(80))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class NumberSequence(Base):
    """The last number handed out per series and year (cases JC-2026-000123, documents DOC-2026-000001)."""

    __tablename__ = "number_sequences"

    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """An audit case raised from an anomaly under a topic, or by hand."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_topic_target", "topic_code", "target", "status"),
        Index("ix_cases_unit_status", "unit_code", "status"),
        # The evaluation reads only the cases open at a period's start or closed since, from the index alone
        # (bench B11).
        Index("ix_cases_closed_at", "closed_at", "created_at", "unit_code", "handler", "status", "instance_id"),
        # The board by topic: a task's case topic from the index alone (bench B11).
        Index("ix_cases_instance_topic", "instance_id", "topic_code"),
        # The evaluation's rectification rounds joined to their cases: PostgreSQL probes this index alone per round
        # instead of hashing every case ever raised (bench B11).
        Index("ix_cases_id_unit_handler", "id", "created_at", "unit_code", "handler"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    topic_code: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(100))
    anomaly: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200), default="")
    risk_level: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    handler: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(32))
    findings: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RectificationRound(Base):
    """One round of a case's rectification: notice, measures and evidence, the reviewer's verdict."""

    __tablename__ = "rectification_rounds"
    __table_args__ = (
        UniqueConstraint("case_id", "round_no"),
        Index("ix_rectification_rounds_created_at", "created_at"),  # the rounds of a period (evaluation)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    round_no: Mapped[int] = mapped_column(Integer)
    notice: Mapped[str] = mapped_column(Text, default="")
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    measures: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[str | None] = mapped_column(String(16))
    reviewer: Mapped[str | None] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class WhitelistEntry(Base):
    """A target frozen under a topic: no new case for it until the freeze ends."""

    __tablename__ = "whitelist_entries"
    __table_args__ = (Index("ix_whitelist_topic_target", "topic_code", "target", "frozen_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_code: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    frozen_until: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    approved_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Document(Base):
    """A file attached to a step of an instance; content stored on disk by its sha256."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_instance_step", "instance_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_no: Mapped[str] = mapped_column(String(32), unique=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(200))
    doc_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DocumentWaiver(Base):
    """A reviewer's decision that a required document is not needed for one step, with the reason."""

    __tablename__ = "document_waivers"
    __table_args__ = (UniqueConstraint("instance_id", "step", "doc_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    step: Mapped[str] = mapped_column(String(200))
    doc_type: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    waived_by: Mapped[str] = mapped_column(String(80))
    waived_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SupervisionOrder(Base):
    """督办单: raised to a unit's head when a rectification is overdue; open until closed."""

    __tablename__ = "supervision_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round_no: Mapped[int | None] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(String(64))
    addressed_to: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class TimeLimitRule(Base):
    """An admin's time limit for a step (bpmn id, or "*" for every step of the process)."""

    __tablename__ = "time_limit_rules"
    __table_args__ = (UniqueConstraint("process_key", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(200))
    limit_value: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[str] = mapped_column(String(16))
    yellow_share: Mapped[float | None] = mapped_column(Float)
    yellow_left_minutes: Mapped[float | None] = mapped_column(Float)
    restart_on_sendback: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CalendarOverride(Base):
    """An admin's correction of the working-day calendar: this date is (not) a working day."""

    __tablename__ = "calendar_overrides"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Reminder(Base):
    """One notice to one person; (recipient, dedupe_key) is unique so a crossing never reminds twice."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("recipient", "dedupe_key"),
        Index("ix_reminders_recipient_open", "recipient", "acknowledged_at", "resolved_at"),
        Index("ix_reminders_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Contract(Base):
    """A power supply contract (供用电合同) whose expiry is watched: reminder at 30 days, warning at 7."""

    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_expires", "expires_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    owner: Mapped[str | None] = mapped_column(String(80))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    term_months: Mapped[int] = mapped_column(Integer, default=12)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ArchiveObligation(Base):
    """A completed step's documents owed to the archive collector within the rule's time (48 h by default)."""

    __tablename__ = "archive_obligations"
    __table_args__ = (
        # The evaluation's obligations due in a period, per unit or person, from the index alone (bench B11).
        Index("ix_obligations_due_at", "due_at", "unit_code", "responsible", "state", "is_on_time"),
        Index(
            "ix_obligations_open_due",
            "due_at",
            sqlite_where=text("state = 'open' AND time_state != 'red'"),
            postgresql_where=text("state = 'open' AND time_state != 'red'"),
        ),
        Index(
            "ix_obligations_open_warn",
            "warn_at",
            sqlite_where=text("state = 'open' AND time_state = 'green'"),
            postgresql_where=text("state = 'open' AND time_state = 'green'"),
        ),
        Index(
            "ix_obligations_open_next_reminder",
            "next_reminder_at",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index(
            "ix_obligations_open_escalate",
            "escalate_at",
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_obligations_responsible", "responsible", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    responsible: Mapped[str] = mapped_column(String(80))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    time_state: Mapped[str] = mapped_column(String(8), default="green")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    warn_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    escalate_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(80))
    return_reason: Mapped[str | None] = mapped_column(Text)
    is_on_time: Mapped[bool | None] = mapped_column(Boolean)
