"""Runs every processes/*/scenarios/*.json through the engine's services: deploy, start, work each step, check.

The scenario format is documented in processes/README.md. Every service call saves and reloads the instance, so
each scenario also proves that its path survives persistence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState

from cli import collect_files
from engine.bootstrap import Engine
from engine.bpmn.runtime import bundle_for
from engine.bpmn.serializer import load_state
from engine.domain.time_limits import parse_duration
from engine.domain.views import Actor, InstanceView, TaskView
from engine.scheduler import jobs
from engine.services import definitions, documents, instances, tasks, users
from tests.conftest import BOTH_DATABASES

ROOT = Path(__file__).resolve().parent.parent.parent
PROCESSES = ROOT / "processes"
SCENARIOS = sorted(PROCESSES.glob("*/scenarios/*.json"))
PDF = b"%PDF-1.4\n% scenario document\n%%EOF\n"

# The organisation every scenario works in: a city company, a district bureau with two stations, another bureau.
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
    ("hand2", "handler", "JC-DONG-2"),  # another station: never sees the case
    ("rev", "reviewer", "JC"),
    ("arch", "archive_collector", "JC"),
    ("head", "unit_head", "JC-DONG"),
    ("head_xi", "unit_head", "JC-XI"),  # another bureau: never sees the supervision order
    ("sup", "supervisor", "JC"),
    ("po", "process_owner", "JC"),
    ("adm", "admin", "JC"),
]
STEP_KEYS = {
    "note", "advance", "task", "as", "data", "documents", "recorder_sets",
    "expect_time_state", "expect_open", "expect_status",
}  # fmt: skip
SCENARIO_KEYS = {"description", "process", "business_key", "started_by", "start", "steps", "expect"}
EXPECT_KEYS = {"status", "end", "history_kinds_contains", "history_counts", "data"}


@pytest.fixture
def people(engine: Engine) -> dict[str, Actor]:
    """The organisation in the database, each person signed in (an Actor with the units they see)."""
    admin = Actor("root", frozenset({"admin"}))
    for code, name, parent in UNITS:
        users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=admin, now=engine.now())
    signed_in = {}
    for username, role, unit in PEOPLE:
        # No password (hashing one costs a quarter second): people sign in with an API token instead.
        users.add_user(engine.uow(), username=username, roles=[role], unit_code=unit, now=engine.now())
        token = users.create_token(engine.uow(), username=username, now=engine.now())
        signed_in[username] = users.actor_for_token(engine.uow(), token=token)
    return signed_in


def _deploy(engine: Engine, admin: Actor) -> list[str]:
    files, forms = collect_files([PROCESSES])
    results = definitions.deploy_definition(engine.uow(), files=files, forms=forms, actor=admin, now=engine.now())
    return sorted(r.key for r in results)


@BOTH_DATABASES
def test_every_process_deploys_as_admin_with_its_forms(engine, people):
    assert _deploy(engine, people["adm"]) == sorted(p.parent.name for p in PROCESSES.glob("*/*.bpmn"))


def test_every_process_with_start_data_has_scenarios():
    assert {p.parent.parent.name for p in SCENARIOS} >= {"audit_case", "topic_approval"}


@BOTH_DATABASES
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_scenario(path: Path, engine, clock, people):
    scenario = json.loads(path.read_text(encoding="utf-8"))
    assert set(scenario) <= SCENARIO_KEYS, f"{path.name}: unknown keys {set(scenario) - SCENARIO_KEYS}"
    assert {"description", "process", "steps", "expect"} <= set(scenario), f"{path.name}: a required key is missing"
    _deploy(engine, people["adm"])
    instance = instances.start_instance(
        engine.uow(),
        process_key=scenario["process"],
        business_key=scenario.get("business_key"),
        actor=people[scenario.get("started_by", "adm")],
        now=engine.now(),
        data=scenario.get("start", {}),
    )
    assert instance.status == "running", instance.error

    for number, step in enumerate(scenario["steps"], 1):
        where = f"{path.name} step {number} ({step.get('task', 'wait')})"
        assert set(step) <= STEP_KEYS, f"{where}: unknown keys {set(step) - STEP_KEYS}"
        assert "task" in step or "advance" in step, f"{where}: a step without a task must advance the clock"
        if "advance" in step:
            clock.advance(seconds=parse_duration(step["advance"]).total_seconds())
            jobs.tick(engine)
            instance = instances.get_instance(engine.uow(), instance_id=instance.id, actor=people["adm"])
        if "task" in step:
            instance = _work(engine, people, instance, step, where)
        assert instance.error is None, f"{where}: {instance.error}"
        if "expect_status" in step:
            assert instance.status == step["expect_status"], where
        if "expect_open" in step:
            assert sorted(t.bpmn_id for t in instance.tasks) == sorted(step["expect_open"]), where

    expect = scenario["expect"]
    assert set(expect) <= EXPECT_KEYS, f"{path.name}: unknown expectations {set(expect) - EXPECT_KEYS}"
    instance = instances.get_instance(engine.uow(), instance_id=instance.id, actor=people["adm"])
    assert instance.status == expect.get("status", "completed")
    if instance.status == "completed":
        assert instance.tasks == ()
    kinds = [h.kind for h in instance.history]
    for kind in expect.get("history_kinds_contains", []):
        assert kind in kinds, f"{path.name}: no {kind} in {kinds}"
    for kind, count in expect.get("history_counts", {}).items():
        assert kinds.count(kind) == count, f"{path.name}: {kinds.count(kind)} × {kind}, expected {count}"
    for name, value in expect.get("data", {}).items():
        assert instance.data.get(name) == value, f"{path.name}: data {name} = {instance.data.get(name)!r}"
    if "end" in expect:
        assert _ends_reached(engine, instance.id) == [expect["end"]]


def _work(engine: Engine, people: dict[str, Actor], instance: InstanceView, step: dict[str, Any], where: str):
    actor = people[step["as"]]
    open_here = [t for t in instance.tasks if t.bpmn_id == step["task"]]
    assert len(open_here) == 1, f"{where}: open tasks are {[t.bpmn_id for t in instance.tasks]}"
    task = open_here[0]
    inbox = tasks.list_tasks(engine.uow(), actor=actor, limit=500).items
    assert task.id in {t.id for t in inbox}, f"{where}: not in the inbox of {actor.username} (lane {task.lane})"
    for other in people.values():
        if _must_not_see(other, task):
            seen = {t.id for t in tasks.list_tasks(engine.uow(), actor=other, limit=500).items}
            assert task.id not in seen, f"{where}: {other.username} sees a task of {task.lane} in {task.unit}"
    if "expect_time_state" in step:
        assert task.time_state == step["expect_time_state"], f"{where}: time state {task.time_state}"
    form = tasks.get_task(engine.uow(), task_id=task.id, actor=actor).form
    assert form is not None, f"{where}: the task has no form"
    data = step.get("data", {})
    fields = {f["name"] for f in form["fields"]}
    assert set(data) <= fields, f"{where}: {set(data) - fields} are not fields of the form"
    missing = {f["name"] for f in form["fields"] if f.get("required")} - set(data)
    assert not missing, f"{where}: required fields {missing} are missing"
    for doc_type in step.get("documents", []):
        documents.attach_document(
            engine.uow(),
            store=engine.file_store,
            instance_id=instance.id,
            step=task.bpmn_id,
            doc_type=doc_type,
            filename=f"{doc_type}.pdf",
            content=PDF,
            actor=actor,
            now=engine.now(),
        )
    # What the step's recorder sets is passed along too, so no scenario depends on a recorder's side effects.
    return tasks.complete_task(
        engine.uow(), task_id=task.id, data={**data, **step.get("recorder_sets", {})}, actor=actor, now=engine.now()
    )


def _must_not_see(actor: Actor, task: TaskView) -> bool:
    """People outside the task's role or unit (admins and the assignee excepted)."""
    if actor.is_admin or task.assignee == actor.username:
        return False
    outside_unit = actor.units is not None and task.unit is not None and task.unit not in actor.units
    return task.lane not in actor.roles or outside_unit


def _ends_reached(engine: Engine, instance_id: str) -> list[str]:
    """The end events the instance's own process completed (a called process's ends are not counted)."""
    with engine.uow() as repos:
        row = repos.instance(instance_id)
        version = repos.version_by_id(row.definition_version_id)
        workflow = load_state(bundle_for(version.id, version.spec_json), row.state_json)
    return [
        t.task_spec.bpmn_id
        for t in workflow.get_tasks(state=TaskState.COMPLETED, skip_subprocesses=True)
        if isinstance(t.task_spec, EndEvent)
    ]
