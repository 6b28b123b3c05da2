"""kill -9 the real server right after a completion returns: after a restart everything is exactly where it was.

The database is prepared in-process (migrations, users, tokens, the example diagram); the flow itself runs
against `auditloop serve` in a subprocess, over HTTP only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli import upgrade_database
from engine.bootstrap import build_engine
from engine.config import Settings
from engine.domain.views import Actor
from engine.services import users
from tests.helpers import deploy_approval

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`auditloop serve` on one database and port, started, killed and restarted by the test."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOOP_")}
        self.env.update(
            AUDITLOOP_DATABASE_URL=database_url, AUDITLOOP_SCHEDULER_TICK_S="1", AUDITLOOP_SECRET_KEY="crash-test"
        )
        exe = Path(sys.executable).parent / "auditloop"
        self.command = [str(exe)] if exe.exists() else [sys.executable, "-c", "from cli import main; main()"]

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the server did not answer /healthz within 20 s:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "the server is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def call(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"null")
            finally:
                err.close()


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A migrated SQLite database with admin, alice (clerk), bob (manager), their tokens and the example diagram."""
    url = "sqlite:///" + str(tmp_path / "crash.db")
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False))
    try:
        upgrade_database(engine)
        tokens = {}
        for name, role in (("admin", "admin"), ("alice", "clerk"), ("bob", "manager")):
            users.add_user(engine.uow(), username=name, roles=[role], password=f"{name}-password", now=engine.now())
            tokens[name] = users.create_token(engine.uow(), username=name, now=engine.now())
        deploy_approval(engine, Actor("root", frozenset({"admin"})))
    finally:
        engine.dispose()
    yield url, tokens


@pytest.fixture
def server(prepared: tuple[str, dict[str, str]], tmp_path: Path) -> Iterator[Server]:
    srv = Server(prepared[0], tmp_path / "server.log")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


def _ok(result: tuple[int, Any], status: int = 200) -> Any:
    code, body = result
    assert code == status, f"expected {status}, got {code}: {body}"
    return body


def _snapshot(srv: Server, tokens: dict[str, str], instance_id: str) -> dict[str, Any]:
    """Everything a user can see of the case: the instance (with tasks and history), inboxes, completed lists."""
    snap: dict[str, Any] = {"instance": _ok(srv.call("GET", f"/instances/{instance_id}", tokens["admin"]))}
    for who in ("alice", "bob"):
        snap[f"inbox_{who}"] = _ok(srv.call("GET", "/tasks", tokens[who]))
        snap[f"completed_{who}"] = _ok(srv.call("GET", "/tasks?state=completed", tokens[who]))
        snap[f"instances_{who}"] = _ok(srv.call("GET", "/instances", tokens[who]))
    for task in snap["instance"]["tasks"]:
        snap[f"task_{task['id']}"] = _ok(srv.call("GET", f"/tasks/{task['id']}", tokens["alice"]))
    return snap


def test_kill_9_right_after_a_completion_loses_nothing(server: Server, prepared: tuple[str, dict[str, str]]) -> None:
    _, tokens = prepared
    started = _ok(server.call("POST", "/instances", tokens["alice"], {"process_key": "expense_approval"}), 201)
    instance_id = started["id"]
    submit1 = started["tasks"][0]["id"]
    done = _ok(
        server.call(
            "POST", f"/tasks/{submit1}/complete", tokens["alice"], {"data": {"amount": 99.5, "reason": "hotel"}}
        )
    )
    review1 = done["instance"]["tasks"][0]["id"]

    # The middle of the flow: bob rejects, the loop opens "Submit expense" again; kill -9 as soon as that returns.
    rejected = _ok(
        server.call(
            "POST",
            f"/tasks/{review1}/complete",
            tokens["bob"],
            {"data": {"approved": False, "comment": "which hotel?"}},
        )
    )["instance"]
    server.kill9()
    server.start()

    after = _ok(server.call("GET", f"/instances/{instance_id}", tokens["admin"]))
    assert after == rejected, "the instance after the restart differs from what the completion returned"
    assert after["status"] == "running"
    assert [(t["bpmn_id"], t["lane"], t["state"]) for t in after["tasks"]] == [("Task_submit", "clerk", "open")]
    submit2 = after["tasks"][0]
    assert submit2["id"] not in (submit1, review1)
    assert [(h["kind"], h["actor"], h["task_id"]) for h in after["history"]] == [
        ("started", "alice", None),
        ("task_completed", "alice", submit1),
        ("task_completed", "bob", review1),
    ]
    assert after["data"] == {"amount": 99.5, "reason": "hotel", "approved": False, "comment": "which hotel?"}
    assert _ok(server.call("GET", "/tasks", tokens["alice"]))["items"] == [submit2]
    assert _ok(server.call("GET", "/tasks", tokens["bob"]))["items"] == []
    assert [t["id"] for t in _ok(server.call("GET", "/tasks?state=completed", tokens["bob"]))["items"]] == [review1]
    assert [t["id"] for t in _ok(server.call("GET", "/tasks?state=completed", tokens["alice"]))["items"]] == [submit1]
    assert _ok(server.call("POST", f"/tasks/{review1}/complete", tokens["bob"], {"data": {"approved": True}}), 409)

    # Everything anyone can see, before and after a second kill -9.
    before = _snapshot(server, tokens, instance_id)
    server.kill9()
    server.start()
    assert _snapshot(server, tokens, instance_id) == before

    # And the restarted server carries on from there.
    review2 = _ok(
        server.call(
            "POST",
            f"/tasks/{submit2['id']}/complete",
            tokens["alice"],
            {"data": {"amount": 99.5, "reason": "hotel Lotus, invoice attached"}},
        )
    )
    review2_id = review2["instance"]["tasks"][0]["id"]
    final = _ok(server.call("POST", f"/tasks/{review2_id}/complete", tokens["bob"], {"data": {"approved": True}}))
    assert final["instance"]["status"] == "completed"
    server.kill9()
    server.start()
    finished = _ok(server.call("GET", f"/instances/{instance_id}", tokens["admin"]))
    assert finished == final["instance"]
    assert [h["kind"] for h in finished["history"]] == [
        "started",
        "task_completed",
        "task_completed",
        "task_completed",
        "task_completed",
        "completed",
    ]
    assert _ok(server.call("GET", "/tasks", tokens["alice"]))["items"] == []
    assert _ok(server.call("GET", "/tasks", tokens["bob"]))["items"] == []
