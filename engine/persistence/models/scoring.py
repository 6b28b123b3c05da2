"""Composite quality score (综合得分) records: the admin-editable indicators, the manual adjustments, and the
month-end snapshots of the evaluation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime


class KpiIndicator(Base):
    """One rate of the evaluation scored against a base value (key: a rate field of KpiRow)."""

    __tablename__ = "kpi_indicators"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    base_value: Mapped[float] = mapped_column(Float)
    full_score: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(8))  # higher | lower (is better)
    weight: Mapped[float] = mapped_column(Float)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class KpiAdjustment(Base):
    """A process score, business score, deduction or bonus given to a person, team or unit for a period."""

    __tablename__ = "kpi_adjustments"
    __table_args__ = (Index("ix_kpi_adjustments_period_level", "period", "level", "subject_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # process_score | business_score | deduction | bonus
    value: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class KpiSnapshot(Base):
    """A month whose evaluation was frozen at month end: later changes show as corrections against it."""

    __tablename__ = "kpi_snapshots"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)  # a month, e.g. 2026-11
    frozen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    frozen_by: Mapped[str] = mapped_column(String(80))


class KpiSnapshotFigure(Base):
    """One frozen figure (a count, a rate, a score part or the rank) of one person, team or unit in a month."""

    __tablename__ = "kpi_snapshot_figures"
    __table_args__ = (
        UniqueConstraint("period", "level", "subject_key", "figure"),
        # Trends read one subject's figures month by month.
        Index("ix_kpi_snapshot_figures_subject", "level", "subject_key", "figure", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("kpi_snapshots.period", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(200))
    figure: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)  # None: no rate (zero denominator) or a missing score part
