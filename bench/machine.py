"""The machine line stored with every result: CPU, cores, Python, SQLite and PostgreSQL versions, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

from bench import databases


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    """Facts about this machine and run, as a dict and as one readable line."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": databases.postgres_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    info["line"] = (
        f"{info['cpu']}, {info['cores']} cores | Python {info['python']} | SQLite {info['sqlite']} | "
        f"PostgreSQL {info['postgresql'] or 'not reachable'} | {info['date']}"
    )
    return info
