"""One audit case through the whole loop as the right people, with records, documents and unit visibility."""

from __future__ import annotations

import pytest

from engine.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from engine.services import cases, documents, instances, tasks
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org, deploy_processes

pytestmark = BOTH_DATABASES
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def org(engine):
    deploy_processes(engine)
    return build_org(engine)


def _open(engine, actor, instance_id, step):
    view = instances.get_instance(engine.uow(), instance_id=instance_id, actor=actor)
    found = [t for t in view.tasks if t.bpmn_id == step]
    assert found, f"{step} is not open; open: {[t.bpmn_id for t in view.tasks]}"
    inbox = tasks.list_tasks(engine.uow(), actor=actor)
    assert found[0].id in [t.id for t in inbox.items], f"{step} is not in {actor.username}'s inbox"
    return found[0]


def _complete(engine, actor, instance_id, step, data):
    return tasks.complete_task(
        engine.uow(), task_id=_open(engine, actor, instance_id, step).id, data=data, actor=actor, now=engine.now()
    )


def _attach(engine, actor, instance_id, step, doc_type):
    return documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=instance_id,
        step=step,
        doc_type=doc_type,
        filename=f"{doc_type}.pdf",
        content=PDF,
        actor=actor,
        now=engine.now(),
    )


def test_a_case_through_the_whole_loop_with_a_rejected_rectification_round(engine, org, clock):
    case = cases.raise_case(
        engine.uow(),
        target="3100001234",
        anomaly="居民用户按工商业电价计费",
        risk_level=2,
        unit_code="JC",
        actor=org["auditor"],
        now=engine.now(),
    )
    assert case.case_no == f"JC-{engine.now().year}-000001" and case.status == "dispatching"
    iid = case.instance_id
    with pytest.raises(ValidationError) as bad_handler:
        _complete(engine, org["dispatcher"], iid, "dispatch", {"unit": "JC-DONG-1", "handler": "h_xi1"})
    assert "handler" in bad_handler.value.fields
    _complete(engine, org["dispatcher"], iid, "dispatch", {"unit": "JC-DONG-1", "handler": "h_dong1"})
    handle = _open(engine, org["h_dong1"], iid, "handle")
    assert handle.assignee == "h_dong1" and handle.unit == "JC-DONG-1"
    assert tasks.list_tasks(engine.uow(), actor=org["h_dong2"]).total == 0  # another station's handler
    with pytest.raises(PermissionDeniedError):
        cases.get_case(engine.uow(), case_id=case.id, actor=org["h_xi1"])  # another unit
    findings = {"findings": "属实", "cause": "档案错误", "is_false_positive": False, "needs_rectification": True}
    with pytest.raises(ValidationError) as missing:
        _complete(engine, org["h_dong1"], iid, "handle", findings)
    assert "investigation_report" in str(missing.value.fields["documents"])
    _attach(engine, org["h_dong1"], iid, "handle", "investigation_report")
    _complete(engine, org["h_dong1"], iid, "handle", findings)
    _complete(engine, org["reviewer"], iid, "review_result", {"approved": True})
    _complete(engine, org["reviewer"], iid, "notice", {"notice": "更正档案", "deadline_days": 7})
    for verdict in ("rejected", "rejected", "accepted"):
        _attach(engine, org["h_dong1"], iid, "measures", "rectification_evidence")
        _complete(engine, org["h_dong1"], iid, "measures", {"measures": "已更正", "evidence": "更正单"})
        _complete(engine, org["reviewer"], iid, "rectification_review", {"verdict": verdict, "comment": verdict})
    assert cases.get_case(engine.uow(), case_id=case.id, actor=org["supervisor"]).status == "archiving"
    _attach(engine, org["archivist"], iid, "archive", "archive_dossier")
    _complete(engine, org["archivist"], iid, "archive", {"received": True, "archive_no": "DA-1"})
    done = cases.get_case(engine.uow(), case_id=case.id, actor=org["head_dong"])
    assert done.status == "closed" and done.closed_at is not None
    assert done.unit == "JC-DONG-1" and done.handler == "h_dong1" and done.findings == "属实"
    assert [(r.round_no, r.verdict) for r in done.rounds] == [(1, "rejected"), (2, "rejected"), (3, "accepted")]
    assert len(done.documents) == 5 and done.documents[0].doc_no.startswith("DOC-")
    assert done.instance is not None and done.instance.status == "completed"


def test_false_positive_goes_on_the_white_list_and_blocks_new_cases(engine, org):
    from tests.helpers import publish_topic

    publish_topic(engine, org, "TARIFF-01")
    case = cases.raise_case(
        engine.uow(),
        topic_code="TARIFF-01",
        target="T-9",
        anomaly="a",
        risk_level=3,
        unit_code="JC",
        actor=org["auditor"],
        now=engine.now(),
    )
    iid = case.instance_id
    _complete(engine, org["dispatcher"], iid, "dispatch", {"unit": "JC-XI-1", "handler": "h_xi1"})
    _attach(engine, org["h_xi1"], iid, "handle", "investigation_report")
    _complete(
        engine,
        org["h_xi1"],
        iid,
        "handle",
        {"findings": "误报", "is_false_positive": True, "freeze_days": 30, "needs_rectification": False},
    )
    _complete(engine, org["reviewer"], iid, "review_result", {"approved": True})
    assert cases.get_case(engine.uow(), case_id=case.id, actor=org["auditor"]).status == "whitelisted"
    with pytest.raises(ConflictError, match="white list"):
        cases.raise_case(
            engine.uow(),
            topic_code="TARIFF-01",
            target="T-9",
            anomaly="again",
            risk_level=3,
            unit_code="JC",
            actor=org["auditor"],
            now=engine.now(),
        )
