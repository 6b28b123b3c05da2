"""Layer rules import-linter cannot express: where transactions end, and what processes/ may hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_commit_and_rollback_only_in_the_unit_of_work():
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _python_files("engine", "webui", "cli")
        if p.name != "unit_of_work.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\.(commit|rollback)\(\)", line)
    ]
    assert offenders == []


def test_processes_folder_holds_no_python():
    assert list((ROOT / "processes").rglob("*.py")) == []


def test_no_grab_bag_modules():
    names = {p.stem for p in _python_files("engine", "webui", "cli")}
    assert not names & {"utils", "helpers", "common", "misc"}


def test_public_services_return_views_not_rows():
    # runs.py and history.py are the services' own internals, called inside a transaction.
    offenders = []
    for path in (ROOT / "engine" / "services").glob("*.py"):
        if path.name in ("runs.py", "history.py"):
            continue
        for node in ast.parse(path.read_text()).body:
            public = isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
            if public and node.returns is not None and ast.unparse(node.returns).startswith("m."):
                offenders.append(f"{path.name}:{node.name}")
    assert offenders == []
