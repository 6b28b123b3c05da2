"""Browser uploads of anomalies: a file's table kept between its preview and its sending, and the mapping per topic."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UtcDateTime


class AnomalyUpload(Base):
    """An uploaded CSV or Excel table as text cells, until it is sent as a batch (then only its row numbers stay)."""

    __tablename__ = "anomaly_uploads"
    __table_args__ = (Index("ix_anomaly_uploads_uploaded_at", "uploaded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic_code: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    headers_json: Mapped[str] = mapped_column(Text)
    rows_json: Mapped[str] = mapped_column(Text)  # [[cell, ...], ...]; emptied once sent
    row_numbers_json: Mapped[str] = mapped_column(Text)  # the file row of each data row (item n = row_numbers[n-1])
    row_count: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(Integer, index=True)


class UploadMapping(Base):
    """The columns last mapped to the item fields for a topic, offered again at its next upload."""

    __tablename__ = "anomaly_upload_mappings"

    topic_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    mapping_json: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
