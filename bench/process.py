"""The process the benchmarks run: the audit case when it exists, else the two-lane example, with its data."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli import collect_files
from engine.bootstrap import Engine
from engine.bpmn import catalog, serializer
from engine.bpmn.runtime import ProcessRun
from engine.domain.views import Actor
from engine.services import users

ROOT = Path(__file__).resolve().parent.parent
AUDIT_CASE = ROOT / "processes" / "audit_case" / "audit_case.bpmn"
EXAMPLE = ROOT / "examples" / "two_lane_approval.bpmn"
START_DATA: dict[str, Any] = {"title": "benchmark case", "requested_by": "bench"}

# The organisation the scenarios work in (as tests/processes/test_scenarios.py sets it up): units, then people.
UNITS = [
    ("JC", "江城供电公司", None),
    ("JC-DONG", "东区供电局", "JC"),
    ("JC-XI", "西区供电局", "JC"),
    ("JC-DONG-1", "东湖供电所", "JC-DONG"),
    ("JC-DONG-2", "东山供电所", "JC-DONG"),
]
PEOPLE = [
    ("aud", "auditor", "JC"),
    ("disp", "dispatcher", "JC"),
    ("hand", "handler", "JC-DONG-1"),
    ("rev", "reviewer", "JC"),
    ("arch", "archive_collector", "JC"),
    ("sup", "supervisor", "JC"),
]
ORGANISER = Actor("bench_admin", frozenset({"admin"}))

_SAMPLE_VALUES: dict[str, Any] = {
    "string": "benchmark",
    "text": "a short reason written by the benchmark",
    "number": 1250.5,
    "integer": 3,
    "boolean": True,
    "date": "2026-11-30",
}


@dataclass(frozen=True)
class BenchProcess:
    """A deployable process with the data to start it and to complete its first human task."""

    label: str  # the diagram's path relative to the repository
    key: str
    files: list[tuple[str, bytes]]
    forms: dict[str, Any]
    bundle: serializer.SpecBundle
    start_data: dict[str, Any]
    first_task: str  # bpmn id of the first human task
    first_lane: str | None
    task_data: dict[str, Any]
    starter: str | None  # who starts and who completes, per the scenario (None: a made-up member of the lane)
    worker: str | None


def form_sample(form: dict[str, Any] | None) -> dict[str, Any]:
    """Valid data for every field of a form definition (the first option of an enum)."""
    data: dict[str, Any] = {}
    for spec in (form or {}).get("fields", []):
        kind = spec.get("type", "string")
        if kind == "enum":
            options = spec.get("options") or [None]
            data[spec["name"]] = options[0]
        else:
            data[spec["name"]] = _SAMPLE_VALUES.get(kind, "benchmark")
    return data or {"comment": "done by the benchmark"}


def load() -> BenchProcess:
    """Compile the representative diagram the way a deploy does and find its first human task."""
    if AUDIT_CASE.exists():
        # The whole processes/ folder: the audit case calls other processes (rectification) by id.
        path, paths, key = AUDIT_CASE, [AUDIT_CASE.parent.parent], "audit_case"
    else:
        path, paths, key = EXAMPLE, [EXAMPLE], None
    files, forms = collect_files(paths)
    start_data, first_step, started_by = _scenario(path)
    compiled = catalog.compile_definitions(
        [catalog.SourceFile(name, content) for name, content in files], allow_scripts=True
    )
    chosen = next((c for c in compiled if c.key == key), None) or next(
        c for c in compiled if c.source_name == path.name
    )
    bundle = serializer.load_spec(chosen.spec_json)
    run = ProcessRun.start(bundle, dict(start_data), now=dt.datetime.now(dt.UTC))
    open_tasks = run.open_tasks()
    if not open_tasks:
        raise RuntimeError(f"{path.name}: the process {chosen.key} does not stop at a human task after its start")
    first = open_tasks[0]
    props = chosen.human_tasks.get(first.bpmn_id)
    form = forms.get(props.form) if props and props.form else None
    return BenchProcess(
        label=str(path.relative_to(ROOT)),
        key=chosen.key,
        files=files,
        forms=forms,
        bundle=bundle,
        start_data=start_data,
        first_task=first.bpmn_id,
        first_lane=(props.lane if props else None) or first.lane,
        task_data=dict(first_step["data"]) if first_step.get("task") == first.bpmn_id else form_sample(form),
        starter=started_by,
        worker=first_step.get("as") if first_step.get("task") == first.bpmn_id else None,
    )


def sign_in(engine: Engine, proc: BenchProcess) -> tuple[Actor, Actor]:
    """Create the scenario's organisation in a fresh database; the actors who start and who complete."""
    if proc.starter is None or proc.worker is None:
        lane = frozenset({proc.first_lane}) if proc.first_lane else frozenset()
        return Actor("bench_starter", lane), Actor("bench_worker", lane)
    for code, name, parent in UNITS:
        users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=ORGANISER, now=engine.now())
    actors = {}
    for username, role, unit in PEOPLE:
        users.add_user(engine.uow(), username=username, roles=[role], unit_code=unit, now=engine.now())
        token = users.create_token(engine.uow(), username=username, now=engine.now())
        actors[username] = users.actor_for_token(engine.uow(), token=token)
    return actors[proc.starter], actors[proc.worker]


def _scenario(path: Path) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """Start data, first step and starter of the process's own scenario (approved_first_time preferred)."""
    folder = path.parent / "scenarios"
    found = sorted(folder.glob("*.json"), key=lambda p: (p.stem != "approved_first_time", p.name))
    if not found:
        return dict(START_DATA), {}, None
    scenario = json.loads(found[0].read_text(encoding="utf-8"))
    steps = scenario.get("steps") or [{}]
    known = {username for username, _, _ in PEOPLE}
    starter = scenario.get("started_by") if scenario.get("started_by") in known else None
    step = dict(steps[0]) if steps[0].get("as") in known else {**steps[0], "as": None}
    return dict(scenario.get("start") or START_DATA), step, starter
