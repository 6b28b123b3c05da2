"""Archive obligations: a step with documents owes them within 48 h; reminders at each crossing; on time kept."""

from __future__ import annotations

import pytest

from cli.demo import complete_step
from engine.domain.errors import InvalidStateError, PermissionDeniedError
from engine.scheduler import jobs
from engine.services import archives, cases, documents, reminders
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org, deploy_processes

pytestmark = BOTH_DATABASES


def test_a_handled_step_owes_its_documents_to_the_collector(engine, clock):
    deploy_processes(engine)
    org = build_org(engine)
    case = cases.raise_case(
        engine.uow(), target="T", anomaly="a", risk_level=2, unit_code="JC", actor=org["auditor"], now=engine.now()
    )
    iid = case.instance_id

    def complete(who, step, data):
        return complete_step(engine, iid, step, org[who], data, engine.now())

    complete("dispatcher", "dispatch", {"unit": "JC-XI-2", "handler": "h_xi2"})
    documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=iid,
        step="handle",
        doc_type="investigation_report",
        filename="r.pdf",
        content=b"%PDF",
        actor=org["h_xi2"],
        now=engine.now(),
    )
    complete("h_xi2", "handle", {"findings": "f", "is_false_positive": False, "needs_rectification": False})
    [owed] = archives.list_obligations(engine.uow(), actor=org["h_xi2"])
    assert owed.step == "handle" and owed.due_at == engine.now() + archives.DEFAULT_LIMIT
    assert [o.id for o in archives.list_obligations(engine.uow(), actor=org["archivist"], scope="collect")] == [owed.id]
    with pytest.raises(PermissionDeniedError):
        archives.list_obligations(engine.uow(), actor=org["h_xi2"], scope="collect")
    clock.advance(hours=37)  # 75% of 48 h
    jobs.tick(engine)
    clock.advance(hours=12)
    jobs.tick(engine)
    jobs.tick(engine)
    notices = reminders.list_reminders(engine.uow(), actor=org["h_xi2"])
    transfer = [r for r in notices if r.category == "pending_transfer"]
    assert len(transfer) == 2 and reminders.reminder_counts(engine.uow(), actor=org["h_xi2"])["pending_transfer"] == 2
    with pytest.raises(PermissionDeniedError):
        archives.receive(engine.uow(), obligation_id=owed.id, actor=org["h_xi2"], now=engine.now())
    received = archives.receive(engine.uow(), obligation_id=owed.id, actor=org["archivist"], now=engine.now())
    assert received.state == "received" and received.is_on_time is False
    assert not [
        r for r in reminders.list_reminders(engine.uow(), actor=org["h_xi2"]) if r.category == "pending_transfer"
    ]
    with pytest.raises(InvalidStateError):
        archives.return_documents(
            engine.uow(), obligation_id=owed.id, actor=org["archivist"], now=engine.now(), reason="late"
        )
