"""Deploy-time compilation: normalisation, refusals with their locations, and that what compiles runs as intended."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import catalog
from engine.bpmn.catalog import CompiledProcess, SourceFile, TaskProperties, compile_definitions
from engine.bpmn.scripting import script_engine
from engine.bpmn.serializer import load_spec
from engine.domain.errors import InvalidProcessError, Problem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
UTC = dt.UTC


def fixture(name: str, replace: dict[str, str] | None = None) -> SourceFile:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} not in {name}"
        text = text.replace(old, new)
    return SourceFile(name, text.encode("utf-8"))


def compile_one(source: SourceFile, *, allow_scripts: bool = False, **kwargs: Any) -> CompiledProcess:
    [compiled] = compile_definitions([source], allow_scripts=allow_scripts, **kwargs)
    return compiled


def refusal(files: list[SourceFile], *, allow_scripts: bool = False, **kwargs: Any) -> list[Problem]:
    with pytest.raises(InvalidProcessError) as caught:
        compile_definitions(files, allow_scripts=allow_scripts, **kwargs)
    assert caught.value.problems
    return caught.value.problems


def start(compiled: CompiledProcess) -> BpmnWorkflow:
    bundle = load_spec(compiled.spec_json)
    return BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine())


def ready(workflow: BpmnWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def complete(workflow: BpmnWorkflow, bpmn_id: str, **data: Any) -> None:
    [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
    task.data.update(data)
    task.run()
    workflow.refresh_timers()
    workflow.do_engine_steps()


class Clock:
    """Drives SpiffWorkflow's timer module; nothing else in the test sees the fake time."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        clock = self

        class FakeDatetime(dt.datetime):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> FakeDatetime:  # type: ignore[override]
                value = clock.now if tz is None else clock.now.astimezone(tz)
                return cls.fromtimestamp(value.timestamp(), tz or UTC)

        self.datetime = FakeDatetime


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock(dt.datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    with mock.patch.object(spiff_timer, "datetime", fake.datetime):
        yield fake


def waiting_values(workflow: BpmnWorkflow) -> dict[str, Any]:
    return {
        t.task_spec.bpmn_id: t.internal_data.get("event_value")
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if t.task_spec.bpmn_id
    }


# --- timers -------------------------------------------------------------------------------------------------------


def test_bare_iso_timers_compile_and_get_the_right_due_times(clock: Clock) -> None:
    workflow = start(compile_one(fixture("timers.bpmn")))
    workflow.refresh_timers()
    workflow.do_engine_steps()
    values = waiting_values(workflow)
    now = clock.now
    assert dt.datetime.fromisoformat(values["wait_48h"]) == now + dt.timedelta(hours=48)
    assert dt.datetime.fromisoformat(values["wait_5d"]) == now + dt.timedelta(days=5)
    assert values["wait_date"] == "2026-12-01T09:00:00+08:00"
    assert values["every_hour_3"] == {"cycles": 3, "next": (now + dt.timedelta(hours=1)).isoformat(), "duration": 3600}
    assert values["every_hour"]["cycles"] == -1  # R/ means for ever
    assert dt.datetime.fromisoformat(values["every_hour"]["next"]) == now + dt.timedelta(hours=1)
    assert values["from_date"] == {"cycles": 3, "next": "2026-12-01T01:00:00+00:00", "duration": 3600}


def test_bare_iso_timers_fire_when_due(clock: Clock) -> None:
    clock.now = dt.datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    workflow = start(compile_one(fixture("timers.bpmn")))

    def advance(to: dt.datetime) -> set[str]:
        clock.now = to
        workflow.refresh_timers()
        workflow.do_engine_steps()
        # ANY_MASK: branches of a cycle timer finish under a parent that is still waiting, which COMPLETED skips.
        done = [t for t in workflow.get_tasks(state=TaskState.ANY_MASK) if t.state == TaskState.COMPLETED]
        return {t.task_spec.bpmn_id for t in done if (t.task_spec.bpmn_id or "").startswith("end_")}

    advance(clock.now)
    assert advance(dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == {"end_r3", "end_r"}  # 47 h: reminders only
    assert advance(dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)) == {"end_r3", "end_r", "end_48h"}
    assert "end_date" not in advance(dt.datetime(2026, 12, 1, 0, 59, tzinfo=UTC))
    assert {"end_date", "end_r_date"} <= advance(dt.datetime(2026, 12, 1, 1, 0, 1, tzinfo=UTC))
    complete(workflow, "watch")  # ends the endless reminder, which would otherwise fire every hour it missed
    assert "end_5d" not in advance(dt.datetime(2026, 12, 3, 23, 59, tzinfo=UTC))
    assert "end_5d" in advance(dt.datetime(2026, 12, 4, 0, 0, 1, tzinfo=UTC))
    assert workflow.is_completed()


def test_the_normalised_diagram_quotes_literals_but_the_stored_bytes_are_untouched() -> None:
    source = fixture("timers.bpmn")
    compiled = compile_one(source)
    stored = json.loads(compiled.spec_json)
    expressions = {
        name: spec["event_definition"]["expression"]
        for name, spec in stored["spec"]["task_specs"].items()
        if "expression" in (spec.get("event_definition") or {})
    }
    assert expressions["wait_48h"] == "'PT48H'"
    assert expressions["from_date"] == "'R3/2026-12-01T09:00:00+08:00/PT1H'"
    assert b"<bpmn:timeDuration>PT48H</bpmn:timeDuration>" in source.content


@pytest.mark.parametrize(
    ("slot", "value", "says"),
    [
        ("timeDuration", "P1.5DT2H", "write `P1DT14H`"),
        ("timeDuration", "P1W2D", "weeks cannot be combined"),
        ("timeDuration", "48 hours", "not a valid Python expression"),
        ("timeDuration", "2026-12-01T09:00:00+08:00", "not a duration"),
        ("timeDate", "2026-12-01T09:00:00", "no timezone offset"),
        ("timeDate", "PT4H", "not a date"),
        ("timeCycle", "R3/P1.5DT1H", "only the last part"),
        ("timeCycle", "PT1H", "not a repetition"),
        ("timeDuration", "${execution.getVariable('wait')}", "Write it in Python instead: `wait`"),
        ("timeDuration", "__import__('os').getcwd()", "names starting with '_'"),
    ],
)
def test_timers_the_library_would_get_wrong_are_refused(slot: str, value: str, says: str) -> None:
    source = fixture(
        "timers.bpmn", {"<bpmn:timeDuration>P5D</bpmn:timeDuration>": f"<bpmn:{slot}>{value}</bpmn:{slot}>"}
    )
    [problem] = refusal([source])
    assert says in problem.message
    assert problem.element_id == "wait_5d"
    assert problem.line == 14
    assert problem.file == "timers.bpmn"


def test_computed_timers_stay_expressions() -> None:
    compiled = compile_one(
        fixture(
            "timers.bpmn",
            {"<bpmn:timeDuration>P5D</bpmn:timeDuration>": "<bpmn:timeDuration>${wait}</bpmn:timeDuration>"},
        )
    )
    task_specs = json.loads(compiled.spec_json)["spec"]["task_specs"]
    assert task_specs["wait_5d"]["event_definition"]["expression"] == "wait"


def test_a_timer_start_event_is_reported_and_removed() -> None:
    compiled = compile_one(fixture("timer_start.bpmn"))
    assert compiled.start_timer == "R/P1D"
    workflow = start(compiled)
    workflow.do_engine_steps()
    # With the timer left in, every started instance would wait a day before its first task.
    assert ready(workflow) == ["check"]
    assert not workflow.get_tasks(state=TaskState.WAITING)


def test_a_computed_timer_start_is_refused() -> None:
    [problem] = refusal([fixture("timer_start.bpmn", {"R/P1D": "f'R/P{days}D'"})])
    assert "fixed ISO 8601 value" in problem.message
    assert problem.element_id == "every_day"


# --- ${...} expressions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "lands_on"),
    [
        ({"approved": True, "amount": 2000, "level": "A"}, ["big_review"]),
        ({"approved": True, "amount": 2000, "level": "B"}, ["normal_review"]),
        ({"approved": True, "amount": 500, "level": "A"}, ["normal_review"]),
        ({"approved": False, "amount": 2000, "level": "A"}, ["rework"]),
    ],
)
def test_el_conditions_route_correctly(data: dict[str, Any], lands_on: list[str]) -> None:
    workflow = start(compile_one(fixture("el_gateway.bpmn")))
    workflow.do_engine_steps()
    complete(workflow, "enter", **data)
    assert ready(workflow) == lands_on


def test_a_rejection_loop_goes_round_and_out() -> None:
    workflow = start(compile_one(fixture("el_gateway.bpmn")))
    workflow.do_engine_steps()
    for _ in range(3):
        complete(workflow, "enter", approved=False, amount=10, level="A")
        complete(workflow, "rework")
        assert ready(workflow) == ["enter"]
    complete(workflow, "enter", approved=True, amount=5000, level="A")
    complete(workflow, "big_review")
    assert workflow.is_completed()


@pytest.mark.parametrize("wrapper", ["${%s}", "#{%s}"])
def test_method_calls_in_el_are_refused_with_the_python_to_write(wrapper: str) -> None:
    condition = wrapper % "execution.getVariable('approved')"
    [problem] = refusal([fixture("el_gateway.bpmn", {"${approved}": condition})])
    assert "Write it in Python instead: `approved`" in problem.message
    assert problem.element_id == "flow_approved"
    assert problem.line == 17


def test_el_ternary_and_empty_are_refused_with_a_rewrite() -> None:
    problems = refusal(
        [fixture("el_gateway.bpmn", {"${approved}": "${empty comments}", "${!approved}": "${a ? b : c}"})]
    )
    messages = [p.message for p in problems]
    assert any("`(not comments)`" in m for m in messages)
    assert any("`b if a else c`" in m for m in messages)


def test_import_in_a_condition_is_refused_at_deploy() -> None:
    [problem] = refusal([fixture("el_gateway.bpmn", {"${approved}": "__import__('os').system('id') == 0"})])
    assert "names starting with '_'" in problem.message
    assert problem.element_id == "flow_approved"


def test_feel_conditions_are_refused_with_the_python_to_write() -> None:
    [problem] = refusal([fixture("el_gateway.bpmn", {"${approved}": "= approved"})])
    assert "FEEL" in problem.message and "`approved`" in problem.message


def test_all_problems_are_collected() -> None:
    problems = refusal(
        [
            fixture(
                "el_gateway.bpmn",
                {"${approved}": "approved ** 2", "${!approved}": "${x.y}", "'A'}": "'A' || open('f')}"},
            )
        ]
    )
    assert [p.element_id for p in problems] == ["flow_rejected", "flow_big", "flow_approved"]


# --- hostile or broken files --------------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" name="&secret;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" name="&lol2;"/>
</bpmn:definitions>"""


@pytest.mark.parametrize(
    "content", [XXE, LAUGHS, XXE.decode().replace('"1.0"?', '"1.0" encoding="UTF-16"?').encode("utf-16")]
)
def test_doctype_and_entities_are_refused(content: bytes) -> None:
    [problem] = refusal([SourceFile("evil.bpmn", content)])
    assert "DOCTYPE" in problem.message
    assert "root:" not in problem.message  # nothing from /etc/passwd leaks into the message


def test_xml_that_is_not_well_formed_reports_its_line() -> None:
    content = (
        (FIXTURES / "caller.bpmn").read_bytes().replace(b'<bpmn:endEvent id="end" />', b'<bpmn:endEvent id="end">')
    )
    [problem] = refusal([SourceFile("broken.bpmn", content)])
    assert "not well-formed XML" in problem.message
    assert problem.line == 9
    assert problem.file == "broken.bpmn"


def test_schema_errors_name_their_line() -> None:
    broken = '<bpmn:endEvent id="child_end" isInterrupting="maybe" />'
    [problem] = refusal([fixture("child.bpmn", {'<bpmn:endEvent id="child_end" />': broken})])
    assert problem.message.startswith("The file does not follow the BPMN 2.0 schema: Element 'bpmn:endEvent'")
    assert (problem.line, problem.element_id) == (12, "child_end")


def test_a_flow_to_nowhere_is_refused() -> None:
    [problem] = refusal([fixture("child.bpmn", {'targetRef="child_end"': 'targetRef="nowhere"'})])
    assert "ends at 'nowhere', which is not an element of process 'Child'" in problem.message
    assert (problem.line, problem.element_id) == (14, "c2")


def test_files_over_the_size_limit_are_refused() -> None:
    [problem] = refusal([fixture("caller.bpmn")], max_bytes=100)
    assert "limit is 100" in problem.message


def test_a_file_that_is_not_bpmn_is_refused() -> None:
    [problem] = refusal([SourceFile("page.bpmn", b"<html><body/></html>")])
    assert "not a BPMN 2.0 or DMN file" in problem.message


def test_a_file_without_an_executable_process_is_refused() -> None:
    [problem] = refusal([fixture("child.bpmn", {'isExecutable="true"': 'isExecutable="false"'})])
    assert "No process in this file is executable: 'Child' (child_process)" in problem.message


def test_an_unexpected_library_crash_becomes_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any) -> Any:
        raise RuntimeError("parser blew up")

    monkeypatch.setattr(catalog, "_parse_with_spiff", explode)
    [problem] = refusal([fixture("caller.bpmn")])
    assert "parser blew up" in problem.message and problem.file == "caller.bpmn"


def test_what_the_library_refuses_is_reported_with_the_element() -> None:
    extra_flow = '<bpmn:sequenceFlow id="c3" sourceRef="child_task" targetRef="child_end" />'
    [problem] = refusal(
        [fixture("child.bpmn", {'<bpmn:sequenceFlow id="c1"': extra_flow + '<bpmn:sequenceFlow id="c1"'})]
    )
    assert "more than one outgoing flow; add a parallel gateway" in problem.message
    assert (problem.line, problem.element_id) == (5, "child_task")


# --- call activities and decisions --------------------------------------------------------------------------------


def test_a_missing_call_activity_is_refused_naming_the_element() -> None:
    [problem] = refusal([fixture("caller.bpmn")])
    assert "'child_process', which is not deployed" in problem.message
    assert (problem.file, problem.line, problem.element_id) == ("caller.bpmn", 5, "call_rectify")


def test_call_activities_resolve_against_the_library() -> None:
    compiled = compile_one(fixture("caller.bpmn"), library=[fixture("child.bpmn"), fixture("risk.dmn")])
    assert compiled.human_tasks["child_task"].lane == "Rectifier"
    workflow = start(compiled)
    workflow.do_engine_steps()
    assert ready(workflow) == ["child_task"]


def test_calls_are_followed_through_the_library() -> None:
    call = '<bpmn:userTask id="child_task" name="Fix the finding">'
    child = fixture(
        "child.bpmn",
        {
            '<bpmn:endEvent id="child_end" />': '<bpmn:endEvent id="child_end" />'
            '<bpmn:callActivity id="call_grand" calledElement="grand_process" />',
            'sourceRef="child_task" targetRef="child_end"': 'sourceRef="child_task" targetRef="call_grand"',
            '<bpmn:sequenceFlow id="c2"': '<bpmn:sequenceFlow id="c3" sourceRef="call_grand" targetRef="child_end" />'
            '<bpmn:sequenceFlow id="c2"',
        },
    )
    grand = fixture(
        "child.bpmn",
        {
            'id="child_process" name="Child"': 'id="grand_process" name="Grandchild"',
            call: '<bpmn:userTask id="grand_task" name="Check the fix">'
            "<bpmn:documentation>Called from child_process.</bpmn:documentation>",
            "child_task": "grand_task",
        },
    )
    # The grandchild's file mentions child_process too, and comes first: it must still be found when needed.
    library = [SourceFile("grand.bpmn", grand.content), child]
    compiled = compile_one(fixture("caller.bpmn"), library=library)
    assert {"child_task", "grand_task"} <= set(compiled.human_tasks)


def test_calling_a_process_that_is_not_executable_is_refused() -> None:
    child = fixture("child.bpmn", {'isExecutable="true"': 'isExecutable="false"'})
    [problem] = refusal([fixture("caller.bpmn")], library=[child])
    assert "'child_process', which is not executable" in problem.message
    assert problem.element_id == "call_rectify"


def test_uploading_parent_and_child_together_compiles_both() -> None:
    compiled = compile_definitions([fixture("caller.bpmn"), fixture("child.bpmn")], allow_scripts=False)
    assert [c.key for c in compiled] == ["caller", "child_process"]


def test_an_upload_replaces_its_older_copy_in_the_library() -> None:
    old_child = fixture("child.bpmn", {'name="Fix the finding"': 'name="Old"'})
    compiled = compile_definitions(
        [fixture("caller.bpmn"), SourceFile("child_v2.bpmn", fixture("child.bpmn").content)],
        library=[old_child],
        allow_scripts=False,
    )
    assert compiled[0].human_tasks["child_task"].name == "Fix the finding"


def test_a_dmn_only_deploy_is_validated_and_returns_nothing() -> None:
    assert compile_definitions([fixture("risk.dmn")], allow_scripts=False) == []


def test_a_dmn_cell_is_linted() -> None:
    [problem] = refusal([fixture("risk.dmn", {'"high"': "__import__('os').getcwd()"})])
    assert problem.element_id == "rule_high_out"
    assert "names starting with '_'" in problem.message


def test_a_business_rule_task_runs_its_decision_from_the_library() -> None:
    compiled = compile_one(fixture("business_rule.bpmn"), library=[fixture("risk.dmn")])
    workflow = start(compiled)
    workflow.do_engine_steps()
    complete(workflow, "enter", amount=5000)
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.data["level"] == "high"


@pytest.mark.parametrize(
    "reference",
    [
        'camunda:decisionRef="risk_level"',
        '><bpmn:extensionElements><zeebe:calledDecision decisionId="risk_level" resultVariable="r" />'
        "</bpmn:extensionElements",
    ],
    ids=["camunda", "zeebe"],
)
def test_decisions_named_the_camunda_way_are_found(reference: str) -> None:
    extension = (
        "<bpmn:extensionElements>\n        <spiffworkflow:calledDecisionId>risk_level</spiffworkflow:calledDecisionId>"
        "\n      </bpmn:extensionElements>"
    )
    source = fixture(
        "business_rule.bpmn",
        {
            extension: "",
            'id="decide" name="Rate the risk">': f'id="decide" {reference}>',
            'id="Defs_rule"': 'id="Defs_rule" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
            'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"',
        },
    )
    workflow = start(compile_one(source, library=[fixture("risk.dmn")]))
    workflow.do_engine_steps()
    complete(workflow, "enter", amount=10)
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.data["level"] == "low"


def test_a_process_owner_may_call_a_process_an_admin_deployed_with_scripts() -> None:
    child = fixture("script_task.bpmn", {'id="script_task"': 'id="child_process"'})
    compiled = compile_one(fixture("caller.bpmn"), library=[child], allow_scripts=False)
    assert compiled.has_scripts


def test_a_missing_decision_is_refused_naming_the_task() -> None:
    [problem] = refusal([fixture("business_rule.bpmn")])
    assert "'risk_level', which is not deployed" in problem.message
    assert problem.element_id == "decide"


# --- scripts ------------------------------------------------------------------------------------------------------


def test_a_script_task_needs_an_admin() -> None:
    [problem] = refusal([fixture("script_task.bpmn")], allow_scripts=False)
    assert "only an admin may deploy a diagram with scripts" in problem.message
    assert problem.element_id == "compute"


def test_an_admin_may_deploy_a_script_task_and_it_runs_restricted() -> None:
    compiled = compile_one(fixture("script_task.bpmn"), allow_scripts=True)
    assert compiled.has_scripts
    workflow = start(compiled)
    workflow.do_engine_steps()
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.data["total"] == 12
    assert task.data["counts"] == {"items": 3}
    assert task.data["checked"] is True


def test_an_admin_script_is_still_linted() -> None:
    [problem] = refusal([fixture("script_task.bpmn", {"items = [3, 4, 5]": "import os"})], allow_scripts=True)
    assert "may not import" in problem.message


def test_pre_and_post_scripts_need_an_admin() -> None:
    prescript = (
        '<bpmn:userTask id="review" name="Review totals"><bpmn:extensionElements>'
        "<spiffworkflow:preScript>x = 1</spiffworkflow:preScript></bpmn:extensionElements></bpmn:userTask>"
    )
    source = fixture(
        "script_task.bpmn",
        {
            '<bpmn:userTask id="review" name="Review totals" />': prescript,
            'id="Defs_script"': 'id="Defs_script" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"',
        },
    )
    problems = refusal([source], allow_scripts=False)
    assert {p.element_id for p in problems} == {"compute", "review"}
    assert any("pre-script" in p.message for p in problems)


def test_a_service_task_needs_an_admin() -> None:
    call = '<bpmn:callActivity id="call_rectify" name="Rectify" calledElement="child_process" />'
    source = fixture("caller.bpmn", {call: '<bpmn:serviceTask id="call_rectify" name="Rectify" />'})
    problems = refusal([source], allow_scripts=False)
    assert any("only an admin may deploy a diagram with service tasks" in p.message for p in problems)
    assert all(p.element_id == "call_rectify" for p in problems)


# --- what the rest of the engine reads ----------------------------------------------------------------------------


def test_extension_properties_lanes_and_messages_are_read() -> None:
    compiled = compile_one(fixture("properties.bpmn"))
    assert compiled.key == "audit_review" and compiled.name == "Audit review"
    assert compiled.messages == ("payment_received",)
    assert compiled.start_timer is None
    assert not compiled.has_scripts
    assert compiled.human_tasks["review"] == TaskProperties(
        bpmn_id="review",
        name="Review the findings",
        lane="Auditor",
        documentation="Check every finding against the evidence.",
        form="audit_findings",
        time_limit="P3D",
        required_documents=("report.pdf", "minutes.docx"),
    )
    approve = compiled.human_tasks["approve"]
    assert (approve.lane, approve.form, approve.time_limit) == ("Director", "approve_form", "PT48H")
    # Tasks of the embedded subprocess are human tasks of the process too.
    assert {"sign", "file_it"} <= set(compiled.human_tasks)


def test_a_message_variable_on_the_message_still_receives_the_payload() -> None:
    # Written where older Spiff modelers put it; the parser would warn (an error under pytest) if it stayed there.
    variable = (
        '<bpmn:message id="Msg_payment" name="payment_received"><bpmn:extensionElements>'
        "<spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable>"
        "</bpmn:extensionElements></bpmn:message>"
    )
    source = fixture("properties.bpmn", {'<bpmn:message id="Msg_payment" name="payment_received" />': variable})
    workflow = start(compile_one(source))
    workflow.do_engine_steps()
    for bpmn_id in ("review", "approve", "sign", "file_it"):
        complete(workflow, bpmn_id)
    workflow.send_event(BpmnEvent(MessageEventDefinition("payment_received"), payload={"amount": 10}))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["payment"] == {"amount": 10}


def test_an_invalid_time_limit_is_refused() -> None:
    [problem] = refusal([fixture("properties.bpmn", {'value="P3D"': 'value="3 days"'})])
    assert "time limit" in problem.message and "3 days" in problem.message
    assert problem.element_id == "review"


def test_the_content_hash_follows_the_bytes() -> None:
    first = compile_one(fixture("properties.bpmn"))
    again = compile_one(fixture("properties.bpmn"))
    changed = compile_one(fixture("properties.bpmn", {"Check every finding": "Check each finding"}))
    assert first.content_hash == again.content_hash != changed.content_hash
    assert len(first.content_hash) == 64
    assert first.source_name == "properties.bpmn"
