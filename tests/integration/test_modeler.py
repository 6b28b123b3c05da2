"""The modeler's services: validate like deploy, drafts per owner, publish as a new version, the definitions list."""

from __future__ import annotations

import pytest

from engine.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from engine.services import cases, definitions, drafts, instances, tasks
from tests.conftest import BOTH_DATABASES
from tests.helpers import ROOT, build_org, deploy_processes, linear_process
from tests.helpers import task as open_task

pytestmark = BOTH_DATABASES
CASE_XML = (ROOT / "processes" / "audit_case" / "audit_case.bpmn").read_text(encoding="utf-8")
DISPATCH_LIMIT = '<spiffworkflow:property name="timeLimit" value="P1D" />'


@pytest.fixture
def org(engine):
    deploy_processes(engine)
    return build_org(engine)


def _raise(engine, org):
    return cases.raise_case(
        engine.uow(), target="M-1", anomaly="ratio", risk_level=2, unit_code="JC", actor=org["auditor"],
        now=engine.now(),
    )  # fmt: skip


def test_validation_reports_deploy_problems_with_element_and_line_and_stores_nothing(engine, org):
    assert DISPATCH_LIMIT in CASE_XML
    xml = CASE_XML.replace(DISPATCH_LIMIT, '<spiffworkflow:property name="timeLimit" value="3 days" />')
    report = definitions.validate_diagram(engine.uow(), xml=xml, actor=org["owner"])
    assert not report.is_valid
    [problem] = report.problems
    assert problem.element_id == "dispatch"
    assert problem.line == xml[: xml.index('<bpmn:userTask id="dispatch"')].count("\n") + 1
    assert "time limit" in problem.message
    assert [d.latest_version for d in definitions.list_definitions(engine.uow())] == [1, 1, 1]

    clean = definitions.validate_diagram(engine.uow(), xml=CASE_XML, actor=org["owner"])
    assert clean.is_valid and clean.processes == ("audit_case",) and clean.warnings == ()


def test_validation_warns_about_a_task_without_a_role_and_an_unknown_form(engine, org):
    xml = linear_process("no_role").replace(
        '<bpmn:userTask id="Task_1" name="Do it">',
        '<bpmn:userTask id="Task_2" name="Other"><bpmn:extensionElements xmlns:spiffworkflow='
        '"http://spiffworkflow.org/bpmn/schema/1.0/core"><spiffworkflow:properties><spiffworkflow:property '
        'name="form" value="nowhere" /></spiffworkflow:properties></bpmn:extensionElements>'
        "<bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>fx</bpmn:outgoing></bpmn:userTask>"
        '<bpmn:sequenceFlow id="fx" sourceRef="Task_2" targetRef="Task_1" />'
        '<bpmn:userTask id="Task_1" name="Do it">',
    )
    xml = xml.replace('targetRef="Task_1" />\n', 'targetRef="Task_2" />\n', 1)
    report = definitions.validate_diagram(engine.uow(), xml=xml, actor=org["owner"])
    assert report.is_valid, report.problems
    by_element = {(w.element_id, "role" in w.message, "form" in w.message) for w in report.warnings}
    assert by_element == {("Task_2", True, False), ("Task_2", False, True)}
    assert all(w.line for w in report.warnings)


def test_scripts_are_for_admins_only_and_staff_may_not_validate(engine, org):
    xml = linear_process("scripted", script="x = 1")
    refused = definitions.validate_diagram(engine.uow(), xml=xml, actor=org["owner"])
    assert [p.element_id for p in refused.problems] == ["Script_1"]
    assert definitions.validate_diagram(engine.uow(), xml=xml, actor=org["admin"]).is_valid
    for staff in ("auditor", "dispatcher", "supervisor"):
        with pytest.raises(PermissionDeniedError):
            definitions.validate_diagram(engine.uow(), xml=xml, actor=org[staff])
        with pytest.raises(PermissionDeniedError):
            drafts.list_drafts(engine.uow(), actor=org[staff])
        with pytest.raises(PermissionDeniedError):
            definitions.definitions_overview(engine.uow(), actor=org[staff])
    with pytest.raises(PermissionDeniedError):
        definitions.publish_diagram(engine.uow(), xml=xml, comment="x", actor=org["auditor"], now=engine.now())


def test_drafts_belong_to_their_owner_and_never_change_published_versions(engine, org):
    owner, admin = org["owner"], org["admin"]
    draft = drafts.save_draft(
        engine.uow(), xml=CASE_XML, name="case v2", process_key="audit_case", base_version=1, actor=owner,
        now=engine.now(),
    )  # fmt: skip
    edited = CASE_XML.replace(DISPATCH_LIMIT, '<spiffworkflow:property name="timeLimit" value="P2D" />')
    again = drafts.save_draft(
        engine.uow(), draft_id=draft.id, xml=edited, name="case v2 (2 days)", actor=owner, now=engine.now()
    )
    assert again.id == draft.id and again.process_key == "audit_case" and again.base_version == 1
    assert [d.name for d in drafts.list_drafts(engine.uow(), actor=owner)] == ["case v2 (2 days)"]
    assert drafts.get_draft_xml(engine.uow(), draft_id=draft.id, actor=owner) == edited
    assert drafts.list_drafts(engine.uow(), actor=admin) == []
    with pytest.raises(NotFoundError):
        drafts.get_draft_xml(engine.uow(), draft_id=draft.id, actor=admin)
    with pytest.raises(NotFoundError):
        drafts.discard_draft(engine.uow(), draft_id=draft.id, actor=admin, now=engine.now())
    with pytest.raises(ValidationError) as empty:
        drafts.save_draft(engine.uow(), draft_id=draft.id, xml=" ", name="", actor=owner, now=engine.now())
    assert set(empty.value.fields) == {"xml", "name"}
    assert drafts.get_draft_xml(engine.uow(), draft_id=draft.id, actor=owner) == edited
    assert definitions.get_version_xml(engine.uow(), key="audit_case", version=1) == CASE_XML
    assert [d.latest_version for d in definitions.list_definitions(engine.uow())] == [1, 1, 1]

    drafts.discard_draft(engine.uow(), draft_id=draft.id, actor=owner, now=engine.now())
    assert drafts.list_drafts(engine.uow(), actor=owner) == []


def test_publishing_makes_version_two_with_the_forms_and_new_cases_start_on_it(engine, org):
    owner = org["owner"]
    running = _raise(engine, org)
    edited = CASE_XML.replace(DISPATCH_LIMIT, '<spiffworkflow:property name="timeLimit" value="P2D" />')
    draft = drafts.save_draft(
        engine.uow(), xml=edited, name="two days", process_key="audit_case", base_version=1, actor=owner,
        now=engine.now(),
    )  # fmt: skip
    with pytest.raises(ValidationError):
        definitions.publish_diagram(engine.uow(), xml=edited, comment=" ", actor=owner, now=engine.now())

    [result] = definitions.publish_diagram(
        engine.uow(), xml=edited, comment="dispatch gets two days", draft_id=draft.id, actor=owner, now=engine.now()
    )
    assert (result.key, result.version, result.is_new) == ("audit_case", 2, True)
    assert drafts.list_drafts(engine.uow(), actor=owner) == []
    v2 = definitions.get_version(engine.uow(), key="audit_case", version=2)
    assert (v2.comment, v2.created_by) == ("dispatch gets two days", "owner")
    assert definitions.get_version_xml(engine.uow(), key="audit_case", version=2) == edited

    new = _raise(engine, org)
    assert new.instance is not None and running.instance is not None
    assert new.instance.version == 2 and running.instance.version == 1
    dispatch = open_task(new.instance, "dispatch")
    form = tasks.get_task(engine.uow(), task_id=dispatch.id, actor=org["dispatcher"]).form
    assert form is not None and {f["name"] for f in form["fields"]} >= {"unit", "handler"}

    overview = {d.key: d for d in definitions.definitions_overview(engine.uow(), actor=owner)}
    case_versions = [(v.version.version, v.running, v.completed) for v in overview["audit_case"].versions]
    assert case_versions == [(1, 1, 0), (2, 1, 0)]
    instances.cancel_instance(engine.uow(), instance_id=running.instance.id, actor=org["admin"], now=engine.now())
    overview = {d.key: d for d in definitions.definitions_overview(engine.uow(), actor=owner)}
    assert [(v.running, v.other) for v in overview["audit_case"].versions] == [(0, 1), (1, 0)]


def test_publishing_the_same_diagram_again_makes_no_new_version(engine, org):
    [result] = definitions.publish_diagram(
        engine.uow(), xml=CASE_XML, comment="no change", actor=org["owner"], now=engine.now()
    )
    assert (result.version, result.is_new) == (1, False)
