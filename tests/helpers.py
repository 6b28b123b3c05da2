"""Small builders shared by tests: deploy the example approval process, find a task by its BPMN id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.bootstrap import Engine
from engine.domain.views import Actor, DeployResult, InstanceView, TaskView
from engine.services import definitions

ROOT = Path(__file__).resolve().parent.parent
APPROVAL = ROOT / "examples" / "two_lane_approval.bpmn"
FORMS = ROOT / "examples" / "forms"


def approval_files() -> tuple[list[tuple[str, bytes]], dict[str, object]]:
    import json

    forms = {p.stem: json.loads(p.read_text()) for p in FORMS.glob("*.json")}
    return [(APPROVAL.name, APPROVAL.read_bytes())], forms


def deploy_approval(engine: Engine, actor: Actor) -> DeployResult:
    files, forms = approval_files()
    return definitions.deploy_definition(engine.uow(), files=files, forms=forms, actor=actor, now=engine.now())[0]


def deploy_xml(engine: Engine, actor: Actor, xml: str, name: str = "test.bpmn") -> DeployResult:
    return definitions.deploy_definition(engine.uow(), files=[(name, xml.encode())], actor=actor, now=engine.now())[0]


def task(instance: InstanceView, bpmn_id: str) -> TaskView:
    found = [t for t in instance.tasks if t.bpmn_id == bpmn_id]
    assert found, f"no open task {bpmn_id} in {[t.bpmn_id for t in instance.tasks]}"
    return found[0]


def linear_process(key: str, *, lane: str = "clerk", condition: str | None = None, script: str | None = None) -> str:
    """A minimal one-lane process: start -> [script] -> user task -> [gateway with condition] -> end."""
    script_xml = (
        f'<bpmn:scriptTask id="Script_1" name="Compute"><bpmn:incoming>f0</bpmn:incoming>'
        f"<bpmn:outgoing>f1</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
        if script
        else ""
    )
    first_target = "Script_1" if script else "Task_1"
    gateway = (
        f'<bpmn:exclusiveGateway id="Gw_1" default="f_no"><bpmn:incoming>f2</bpmn:incoming>'
        f"<bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>"
        f'<bpmn:sequenceFlow id="f_yes" sourceRef="Gw_1" targetRef="End_1">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        f'<bpmn:sequenceFlow id="f_no" sourceRef="Gw_1" targetRef="End_1" />'
        if condition
        else ""
    )
    after_task = "Gw_1" if condition else "End_1"
    end_incoming = (
        "<bpmn:incoming>f_yes</bpmn:incoming><bpmn:incoming>f_no</bpmn:incoming>"
        if condition
        else ("<bpmn:incoming>f2</bpmn:incoming>")
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_{key}"
    targetNamespace="http://auditloop.example/test">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="Lane_1" name="{lane}">
      <bpmn:flowNodeRef>Task_1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="Start_1" targetRef="{first_target}" />
    {script_xml}
    {'<bpmn:sequenceFlow id="f1" sourceRef="Script_1" targetRef="Task_1" />' if script else ""}
    <bpmn:userTask id="Task_1" name="Do it"><bpmn:incoming>{"f1" if script else "f0"}</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_1" targetRef="{after_task}" />
    {gateway}
    <bpmn:endEvent id="End_1">{end_incoming}</bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def build_org(engine: Engine) -> dict[str, Actor]:
    """The demo organisation (units and people), each person signed in as an Actor with their units."""
    from cli.demo import DEMO_PASSWORD, PEOPLE, SYSTEM, UNITS
    from engine.services import users

    for code, name, parent in UNITS:
        users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=SYSTEM, now=engine.now())
    people = {}
    for username, display, roles, unit in PEOPLE:
        users.add_user(
            engine.uow(),
            username=username,
            display_name=display,
            roles=roles,
            unit_code=unit,
            password=DEMO_PASSWORD,
            now=engine.now(),
        )
        people[username] = users.get_actor(engine.uow(), username=username)
    return people


def deploy_processes(engine: Engine) -> None:
    from cli import collect_files

    files, forms = collect_files([ROOT / "processes"])
    definitions.deploy_definition(
        engine.uow(), files=files, forms=forms, actor=Actor("root", frozenset({"admin"})), now=engine.now()
    )


def publish_topic(engine: Engine, people: dict[str, Actor], code: str) -> None:
    """Take a topic through the real approval process until it is active."""
    from cli.demo import TOPICS, _publish_topic

    _, name, area, criteria, thresholds = next(t for t in TOPICS if t[0] == code)
    # Published a day ago, so its effective-date timer is due at the next tick.
    _publish_topic(
        engine,
        people,
        code=code,
        name=name,
        area=area,
        criteria=criteria,
        thresholds=thresholds,
        at=engine.now() - dt.timedelta(days=1),
    )
