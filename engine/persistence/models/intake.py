"""Anomaly intake: batches as they arrive, their staged rows, the anomalies kept, refusals, per-topic settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime


class AnomalyBatch(Base):
    """One batch of anomalies under a topic (API, upload or SQL check), its progress, lease and counts."""

    __tablename__ = "anomaly_batches"
    __table_args__ = (
        Index(
            "ix_anomaly_batches_open",
            "submitted_at",
            sqlite_where=text("status IN ('pending', 'processing')"),
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
        Index("ix_anomaly_batches_topic", "topic_code", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_code: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_row: Mapped[int] = mapped_column(Integer, default=1)  # rows before it are processed and committed
    received: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    recorded: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    raised: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class AnomalyStagedRow(Base):
    """A row of a batch waiting to be processed, as it was sent; deleted in the chunk that processes it."""

    __tablename__ = "anomaly_staged_rows"

    batch_id: Mapped[int] = mapped_column(ForeignKey("anomaly_batches.id", ondelete="CASCADE"), primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_json: Mapped[str] = mapped_column(Text)


class Anomaly(Base):
    """One anomaly (occurrence) kept under a topic; external_id is unique per topic, so resending changes nothing."""

    __tablename__ = "anomalies"
    __table_args__ = (
        UniqueConstraint("topic_code", "external_id"),
        Index("ix_anomalies_batch_outcome", "batch_id", "outcome"),
        Index("ix_anomalies_topic_observed", "topic_code", "observed_at"),
        # The evaluation counts a period's anomalies per unit (audit initiation rate) from the index alone.
        Index("ix_anomalies_observed_unit", "observed_at", "unit_code", "outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_code: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(100))
    batch_id: Mapped[int] = mapped_column(ForeignKey("anomaly_batches.id"))
    row_no: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    description: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AnomalyRejection(Base):
    """A row of a batch that was refused, with its row number, external id and field -> reasons."""

    __tablename__ = "anomaly_rejections"
    __table_args__ = (UniqueConstraint("batch_id", "row_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("anomaly_batches.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(100))
    problems_json: Mapped[str] = mapped_column(Text)


class TopicIntake(Base):
    """How a topic takes in anomalies: thresholds, dispatch rule, and an optional scheduled SQL check."""

    __tablename__ = "topic_intakes"

    topic_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    warn_at: Mapped[float | None] = mapped_column(Float)
    raise_at: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[int] = mapped_column(Integer, default=3)
    unit_map_json: Mapped[str] = mapped_column(Text, default="{}")
    assign_handler: Mapped[bool] = mapped_column(Boolean, default=False)
    start_at_handle: Mapped[bool] = mapped_column(Boolean, default=False)
    sql_url_secret: Mapped[str | None] = mapped_column(Text)  # encrypted; never shown back
    sql_query: Mapped[str] = mapped_column(Text, default="")
    check_every_hours: Mapped[float] = mapped_column(Float, default=24.0)
    next_check_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_check_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_check_error: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
