"""On a running server, a task with a seconds-long rule goes green → yellow → red with one reminder per crossing;
on PostgreSQL two `auditloop scheduler` processes never duplicate a reminder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cli import upgrade_database
from engine.bootstrap import build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.services import deadlines, instances, users
from tests.conftest import POSTGRES_URL, _drop_postgres_database, _postgres_database
from tests.e2e.test_crash import ROOT, Server
from tests.helpers import deploy_approval

pytestmark = pytest.mark.slow
ADMIN = Actor("root", frozenset({"admin"}))


def _prepare(url: str, seconds: float) -> tuple[Any, str]:
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
    upgrade_database(engine)
    deploy_approval(engine, ADMIN)
    users.add_user(engine.uow(), username="alice", roles=["clerk"], now=engine.now())
    deadlines.put_rule(
        engine.uow(),
        process_key="expense_approval",
        step="Task_submit",
        limit_value=seconds / 60,
        limit_unit="minutes",
        actor=ADMIN,
        now=engine.now(),
    )
    return engine, users.create_token(engine.uow(), username="alice", now=engine.now())


def _get(base: str, path: str, token: str) -> Any:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def test_a_task_visibly_goes_green_yellow_red_with_one_reminder_each(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "live.db")
    engine, token = _prepare(url, seconds=6)
    engine.dispose()
    server = Server(url, tmp_path / "server.log")
    server.start()
    try:
        body = json.dumps({"process_key": "expense_approval"}).encode()
        request = urllib.request.Request(
            server.base + "/api/v1/instances",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            task_id = json.load(response)["tasks"][0]["id"]
        seen: list[str] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and seen[-1:] != ["red"]:
            state = _get(server.base, f"/api/v1/tasks/{task_id}", token)["time_state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            time.sleep(0.2)
        assert seen == ["green", "yellow", "red"]
        time.sleep(2)  # more ticks: still exactly one reminder per crossing
        titles = [r["title"] for r in _get(server.base, "/api/v1/reminders", token)["items"]]
        assert len(titles) == 2 and titles[0].startswith("已超期") and titles[1].startswith("即将超期")
    finally:
        server.stop()


@pytest.mark.postgres
def test_two_scheduler_processes_never_duplicate_a_reminder(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests skipped: set AUDITLOOP_TEST_POSTGRES_URL")
    url = _postgres_database()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        engine, _ = _prepare(url, seconds=10)  # yellow at 7.5 s: both schedulers are up by then
        alice = users.get_actor(engine.uow(), username="alice")
        for _ in range(30):
            instances.start_instance(engine.uow(), process_key="expense_approval", actor=alice, now=engine.now())
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOOP_")}
        env.update(AUDITLOOP_DATABASE_URL=url, AUDITLOOP_SCHEDULER_TICK_S="0.5")
        exe = Path(sys.executable).parent / "auditloop"
        for i in range(2):
            with (tmp_path / f"scheduler{i}.log").open("wb") as out:
                procs.append(
                    subprocess.Popen([str(exe), "scheduler"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        time.sleep(13)
        with engine.db.connect() as conn:
            rows = conn.exec_driver_sql("SELECT dedupe_key, count(*) FROM reminders GROUP BY dedupe_key").all()
        engine.dispose()
        assert len(rows) == 60  # a yellow and a red reminder for each of the 30 tasks
        assert {n for _, n in rows} == {1}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        _drop_postgres_database(url)
