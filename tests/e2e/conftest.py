"""Browser tests: a real `auditloop serve` on a prepared SQLite database, driven by Debian's Chromium via Playwright.

Never `playwright install` (no internet here): the tests use the system Chromium and are skipped, saying why,
when it, Playwright or the built front-end files are missing. Screenshots go to a pytest temp folder whose path
is printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "webui" / "static" / "vendor"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_screenshot_folders: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _screenshot_folders:
        if any(folder.iterdir()):
            terminalreporter.write_line(f"browser screenshots: {folder}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("browser tests skipped: no Chromium on this machine (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser tests skipped: Playwright for Python is not installed")
    if not (VENDOR / "htmx.min.js").is_file() or not (VENDOR / "bpmn-js" / "bpmn-viewer.production.min.js").is_file():
        pytest.skip("browser tests skipped: front-end files not built (make install: npm ci && python -m webui.vendor)")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    _screenshot_folders.append(folder)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """`auditloop serve` (scheduler off) on a database prepared in-process; `cases` maps a handler to its case."""

    base: str
    database_url: str
    cases: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def live_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from cli import upgrade_database
    from engine.bootstrap import build_engine
    from engine.config import Settings
    from engine.services import cases, tasks, users
    from tests.helpers import build_org, deploy_processes
    from tests.helpers import task as open_task

    folder = tmp_path_factory.mktemp("live")
    url = "sqlite:///" + str(folder / "ui.db")
    documents = str(folder / "documents")
    engine = build_engine(Settings(database_url=url, scheduler_enabled=False, documents_dir=documents))
    server = LiveServer(base="", database_url=url)
    try:
        upgrade_database(engine)
        deploy_processes(engine)
        build_org(engine)
        auditor = users.get_actor(engine.uow(), username="auditor")
        dispatcher = users.get_actor(engine.uow(), username="dispatcher")
        for handler, unit in (("h_dong1", "JC-DONG-1"), ("h_dong2", "JC-DONG-2")):
            case = cases.raise_case(
                engine.uow(),
                target=f"M-{unit}",
                anomaly="倍率异常 ratio anomaly",
                risk_level=2,
                unit_code="JC",
                actor=auditor,
                now=engine.now(),
            )
            assert case.instance is not None
            tasks.complete_task(
                engine.uow(),
                task_id=open_task(case.instance, "dispatch").id,
                data={"unit": unit, "handler": handler},
                actor=dispatcher,
                now=engine.now(),
            )
            server.cases[handler] = case.case_no
    finally:
        engine.dispose()

    with serving(url, documents, folder) as base:
        server.base = base
        yield server


@contextlib.contextmanager
def serving(database_url: str, documents: str, folder: Path) -> Iterator[str]:
    """`auditloop serve` (scheduler off) on a prepared database until the block ends; yields its base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITLOOP_")}
    env.update(
        AUDITLOOP_DATABASE_URL=database_url,
        AUDITLOOP_DOCUMENTS_DIR=documents,
        AUDITLOOP_SECRET_KEY="browser-test",
        AUDITLOOP_SCHEDULER="off",
    )
    exe = Path(sys.executable).parent / "auditloop"
    command = [str(exe)] if exe.exists() else [sys.executable, "-c", "from cli import main; main()"]
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer within 20 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
