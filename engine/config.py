"""Settings from AUDITLOOP_* environment variables; a newcomer needs none of them."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///" + str(Path("instance") / "auditloop.db")
    secret_key: str | None = None
    timezone: str = "Asia/Shanghai"
    scheduler_tick_s: float = 5.0
    scheduler_enabled: bool = True
    timer_lease_s: float = 60.0
    max_upload_bytes: int = 2_000_000
    max_request_bytes: int = 21 * 1024 * 1024  # a 20 MB document plus its form fields
    processes_dir: str = "processes"
    documents_dir: str = str(Path("instance") / "documents")
    smtp_host: str | None = None  # unset: mails go to the log
    smtp_port: int = 25
    smtp_sender: str = "auditloop@localhost"
    digest_hour: int = 8  # local hour of the daily digest
    script_time_limit_s: float = 2.0  # a script or expression running longer is stopped (the step fails)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read AUDITLOOP_DATABASE_URL, AUDITLOOP_SECRET_KEY, AUDITLOOP_TIMEZONE, AUDITLOOP_SCHEDULER_TICK_S …"""
        env = os.environ if environ is None else environ
        base = cls()
        return replace(
            base,
            database_url=env.get("AUDITLOOP_DATABASE_URL", base.database_url),
            secret_key=env.get("AUDITLOOP_SECRET_KEY") or None,
            timezone=env.get("AUDITLOOP_TIMEZONE", base.timezone),
            scheduler_tick_s=float(env.get("AUDITLOOP_SCHEDULER_TICK_S", base.scheduler_tick_s)),
            scheduler_enabled=env.get("AUDITLOOP_SCHEDULER", "on").lower() not in ("0", "off", "false", "no"),
            timer_lease_s=float(env.get("AUDITLOOP_TIMER_LEASE_S", base.timer_lease_s)),
            max_upload_bytes=int(env.get("AUDITLOOP_MAX_UPLOAD_BYTES", base.max_upload_bytes)),
            max_request_bytes=int(env.get("AUDITLOOP_MAX_REQUEST_BYTES", base.max_request_bytes)),
            processes_dir=env.get("AUDITLOOP_PROCESSES_DIR", base.processes_dir),
            documents_dir=env.get("AUDITLOOP_DOCUMENTS_DIR", base.documents_dir),
            smtp_host=env.get("AUDITLOOP_SMTP_HOST") or None,
            smtp_port=int(env.get("AUDITLOOP_SMTP_PORT", base.smtp_port)),
            smtp_sender=env.get("AUDITLOOP_SMTP_SENDER", base.smtp_sender),
            script_time_limit_s=float(env.get("AUDITLOOP_SCRIPT_TIME_LIMIT_S", base.script_time_limit_s)),
        )
