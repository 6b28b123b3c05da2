"""The engine issue's "Done when", as a person would check it: scripts/acceptance.sh (CLI + curl only) exits 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "acceptance.sh"
POSTGRES_URL = os.environ.get("AUDITLOOP_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bash") is None or shutil.which("curl") is None, reason="needs bash and curl"),
]


def _run(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOOP_") or k == "AUDITLOOP_TEST_POSTGRES_URL"}
    auditloop = Path(sys.executable).parent / "auditloop"
    if auditloop.exists():
        env["AUDITLOOP_BIN"] = str(auditloop)
    done = subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (
        f"acceptance.sh {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    assert "ACCEPTANCE PASSED" in done.stdout


def test_acceptance_script_on_sqlite() -> None:
    _run()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL tests skipped: set AUDITLOOP_TEST_POSTGRES_URL")
def test_acceptance_script_on_postgres() -> None:
    _run("--postgres", POSTGRES_URL or "")
