"""Anomaly intake end to end: batches through the API and the scheduler, rules per item, crash and resume."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cli.demo import complete_step
from engine.domain.errors import ConflictError
from engine.scheduler import jobs
from engine.services import anomalies, cases, documents, evaluation, instances, reminders, tasks, topic_intake, users
from tests.conftest import BOTH_DATABASES
from tests.helpers import build_org, deploy_processes, publish_topic
from webui import create_app

pytestmark = BOTH_DATABASES
TOPIC = "TARIFF-01"
STATIONS = ["JC-DONG-1", "JC-DONG-2", "JC-XI-1", "JC-XI-2", "JC-BEI-1", "JC-BEI-2"]
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def org(engine: Any) -> dict[str, Any]:
    deploy_processes(engine)
    people = build_org(engine)
    publish_topic(engine, people, TOPIC)
    return people


@pytest.fixture
def api(engine: Any, org: dict[str, Any]) -> Any:
    client = create_app(engine=engine).test_client()
    token = users.create_token(engine.uow(), username="auditor", now=engine.now())
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def item(n: int, *, target: str | None = None, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"X-{n:06d}",
        "target": target or f"C{n:08d}",
        "unit": unit or STATIONS[n % len(STATIONS)],
        "observed_at": "2026-11-20T08:30:00+08:00",
        "description": "居民用户执行一般工商业电价",
        **extra,
    }


def topic_cases(engine: Any, org: dict[str, Any]) -> list[Any]:
    page = cases.list_cases(engine.uow(), actor=org["admin"], topic_code=TOPIC, limit=500)
    assert page.total <= 500
    return list(page.items)


def send(engine: Any, org: dict[str, Any], items: list[Any], *, who: str = "auditor", chunk_size: int = 1000) -> Any:
    """Submit and work a batch through the services, as the API does for small batches."""
    view = anomalies.submit_batch(
        engine.uow(), topic_code=TOPIC, items=items, source="api", actor=org[who], now=engine.now(), owner="t"
    )
    return anomalies.work_batch(engine.uow, batch_id=view.id, owner="t", clock=engine.now, chunk_size=chunk_size)


def test_the_same_1000_item_batch_twice_through_the_api_creates_each_case_once(engine, org, api):
    batch = {"topic": TOPIC, "items": [item(n) for n in range(1000)]}
    first = api.post("/api/v1/anomalies", json=batch)
    assert first.status_code == 202, first.get_json()
    report = first.get_json()
    assert (report["status"], report["received"], report["raised"], report["rejected"]) == ("done", 1000, 1000, 0)
    second = api.post("/api/v1/anomalies", json=batch)
    assert second.status_code == 202
    again = api.get(second.get_json()["url"]).get_json()
    assert (again["status"], again["unchanged"], again["raised"], again["merged"]) == ("done", 1000, 0, 0)
    page = cases.list_cases(engine.uow(), actor=org["admin"], topic_code=TOPIC, limit=1)
    assert page.total == 1000
    listed = api.get(f"/api/v1/anomaly-batches?topic={TOPIC}").get_json()
    assert [b["id"] for b in listed["items"]] == [again["id"], report["id"]] and listed["total"] == 2


def test_invalid_rows_are_reported_by_row_with_reasons_and_valid_rows_proceed(engine, org, api):
    rows = [
        item(1),
        {**item(2), "target": ""},
        {**item(3), "unit": "NOWHERE"},
        {**item(4), "observed_at": "yesterday"},
        "not an object",
        {**item(6), "value": "high", "colour": "red"},
        {k: v for k, v in item(7).items() if k != "external_id"},
        item(8),
    ]
    answer = api.post("/api/v1/anomalies", json={"topic": TOPIC, "items": rows})
    assert answer.status_code == 202
    report = api.get(answer.get_json()["url"]).get_json()
    assert (report["received"], report["rejected"], report["raised"]) == (8, 6, 2)
    refused = {r["row_no"]: r for r in report["rejections"]}
    assert sorted(refused) == [2, 3, 4, 5, 6, 7]
    assert "target" in refused[2]["problems"] and refused[2]["external_id"] == "X-000002"
    assert "no unit NOWHERE" in refused[3]["problems"]["unit"][0]
    assert "observed_at" in refused[4]["problems"]
    assert "item" in refused[5]["problems"] and refused[5]["external_id"] is None
    assert {"value", "item"} <= set(refused[6]["problems"]) and "colour" in refused[6]["problems"]["item"][0]
    assert "external_id" in refused[7]["problems"]
    assert {c.target for c in topic_cases(engine, org)} == {"C00000001", "C00000008"}


def test_items_for_targets_with_open_cases_are_merged_into_them(engine, org):
    first = send(engine, org, [item(1, target="T-1"), item(2, target="T-2"), item(3, target="T-1")])
    assert (first.raised, first.merged) == (2, 1)  # the second T-1 item joins the case its first item raised
    later = send(engine, org, [item(4, target="T-1"), item(5, target="T-3")])
    assert (later.raised, later.merged) == (1, 1)
    by_target = {c.target: c for c in topic_cases(engine, org)}
    assert sorted(by_target) == ["T-1", "T-2", "T-3"]
    view = instances.get_instance(engine.uow(), instance_id=by_target["T-1"].instance_id, actor=org["admin"])
    merged = [h for h in view.history if h.kind == "anomalies_merged"]
    assert [h.data["external_ids"] for h in merged] == [["X-000003"], ["X-000004"]]


def test_white_listed_targets_are_skipped_until_the_freeze_ends(engine, org, clock):
    topic_intake.set_intake(
        engine.uow(),
        topic_code=TOPIC,
        actor=org["auditor"],
        now=engine.now(),
        box=engine.secret_box,
        start_at_handle=True,
        assign_handler=True,
    )
    send(engine, org, [item(1, target="T-9", unit="JC-XI-1")])
    (case,) = topic_cases(engine, org)
    assert (case.status, case.unit, case.handler) == ("handling", "JC-XI-1", "h_xi1")  # dispatched by the rule
    iid = case.instance_id
    documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=iid,
        step="handle",
        doc_type="investigation_report",
        filename="r.pdf",
        content=PDF,
        actor=org["h_xi1"],
        now=engine.now(),
    )
    complete_step(
        engine, iid, "handle", org["h_xi1"],
        {"findings": "误报", "is_false_positive": True, "freeze_days": 30, "needs_rectification": False},
        engine.now(),
    )  # fmt: skip
    complete_step(engine, iid, "review_result", org["reviewer"], {"approved": True}, engine.now())
    frozen = send(engine, org, [item(2, target="T-9"), item(3, target="T-9"), item(4, target="T-10")])
    assert (frozen.skipped, frozen.raised) == (2, 1)
    clock.advance(days=31)
    thawed = send(engine, org, [item(5, target="T-9")])
    assert (thawed.skipped, thawed.raised) == (0, 1)


def test_thresholds_record_warn_or_raise_and_warnings_remind_the_unit_head_once(engine, org):
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=org["auditor"], now=engine.now(), box=engine.secret_box,
        warn_at=10, raise_at=100,
    )  # fmt: skip
    report = send(
        engine,
        org,
        [
            item(1, value=5),
            item(2, value=10, target="W-1", unit="JC-DONG-1"),
            item(3, value=50, target="W-1", unit="JC-DONG-1"),
            item(4, value=100),
            item(5),  # no value under numeric thresholds
        ],
    )
    assert (report.recorded, report.warned, report.raised, report.rejected) == (1, 2, 1, 1)
    got = reminders.list_reminders(engine.uow(), actor=org["head_dong"])
    assert [(r.category, r.subject_id) for r in got] == [("anomaly_warning", f"{TOPIC}:W-1")]


def test_least_loaded_handler_and_unit_map(engine, org):
    users.add_user(
        engine.uow(), username="h_dong1b", roles=["handler"], unit_code="JC-DONG-1", password="pw-123456789",
        now=engine.now(),
    )  # fmt: skip
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=org["admin"], now=engine.now(), box=engine.secret_box,
        unit_map={"MKT-0101": "JC-DONG-1"}, start_at_handle=True, assign_handler=True,
    )  # fmt: skip
    report = send(engine, org, [item(n, unit="MKT-0101") for n in range(4)])
    assert report.raised == 4
    handlers = sorted(c.handler for c in topic_cases(engine, org))
    assert handlers == ["h_dong1", "h_dong1", "h_dong1b", "h_dong1b"]
    inbox = tasks.list_tasks(engine.uow(), actor=org["h_dong1"])
    assert inbox.total == 2 and {t.bpmn_id for t in inbox.items} == {"handle"}


def test_without_a_dispatch_rule_cases_wait_at_dispatch(engine, org):
    send(engine, org, [item(1)])
    (case,) = topic_cases(engine, org)
    assert case.status == "dispatching" and case.handler is None and case.kind == "online"


def test_a_crash_mid_batch_resumes_without_duplicates(engine, org, clock, monkeypatch):
    view = anomalies.submit_batch(
        engine.uow(), topic_code=TOPIC, items=[item(n) for n in range(25)], source="api", actor=org["auditor"],
        now=engine.now(),
    )  # fmt: skip
    assert view.status == "pending"
    assert anomalies.claim_batches(engine.uow(), now=engine.now(), owner="w1", lease_s=60) == [view.id]
    assert anomalies.claim_batches(engine.uow(), now=engine.now(), owner="w2", lease_s=60) == []
    done = anomalies.process_batch_chunk(engine.uow(), batch_id=view.id, owner="w1", now=engine.now(), chunk_size=10)
    assert (done.processed, done.raised) == (10, 10)
    real_open_cases = anomalies.open_cases

    def crash_after_opening(*args: Any, **kwargs: Any) -> Any:
        real_open_cases(*args, **kwargs)  # the cases and instances are in the transaction...
        raise RuntimeError("worker killed")  # ...which never commits

    monkeypatch.setattr(anomalies, "open_cases", crash_after_opening)
    with pytest.raises(RuntimeError):
        anomalies.process_batch_chunk(engine.uow(), batch_id=view.id, owner="w1", now=engine.now(), chunk_size=10)
    monkeypatch.setattr(anomalies, "open_cases", real_open_cases)
    with pytest.raises(ConflictError):  # w1's lease still holds
        anomalies.process_batch_chunk(engine.uow(), batch_id=view.id, owner="w2", now=engine.now(), chunk_size=10)
    clock.advance(seconds=121)
    jobs._work_anomaly_batches(engine, "w2")  # the scheduler resumes it once the lease ran out
    final = anomalies.get_batch(engine.uow(), batch_id=view.id, actor=org["auditor"])
    assert (final.status, final.processed, final.raised, final.unchanged) == ("done", 25, 25, 0)
    found = topic_cases(engine, org)
    assert len(found) == 25 and len({c.target for c in found}) == 25
    assert len({c.case_no for c in found}) == 25


def test_the_scheduler_works_large_batches_and_the_topic_history_has_the_report(engine, org, api):
    items = [item(n, target=f"T-{n % 1100}") for n in range(1200)]
    answer = api.post("/api/v1/anomalies", json={"topic": TOPIC, "items": items})
    assert answer.status_code == 202 and answer.get_json()["status"] == "pending"
    for _ in range(5):  # each tick works the batch for a bounded time; it goes on at the next one
        jobs.tick(engine)
    report = api.get(answer.get_json()["url"]).get_json()
    assert (report["status"], report["raised"], report["merged"]) == ("done", 1100, 100)
    topic = [t for t in topic_intake_topics(engine) if t.code == TOPIC][-1]
    view = instances.get_instance(engine.uow(), instance_id=topic.instance_id, actor=org["admin"])
    processed = [h for h in view.history if h.kind == "anomaly_batch_processed"]
    assert processed and processed[-1].data["raised"] == 1100 and processed[-1].data["merged"] == 100


def topic_intake_topics(engine: Any) -> list[Any]:
    from engine.services import topics

    return topics.list_topics(engine.uow(), status="active")


def test_batch_limits_and_refusals(engine, org, api):
    assert api.post("/api/v1/anomalies", json={"topic": TOPIC, "items": "x"}).status_code == 422
    assert api.post("/api/v1/anomalies", json={"topic": TOPIC, "items": []}).status_code == 422
    assert api.post("/api/v1/anomalies", json={"topic": "NOPE-1", "items": [item(1)]}).status_code == 422
    too_many = api.post("/api/v1/anomalies", json={"topic": TOPIC, "items": [{}] * 100_001})
    assert too_many.status_code == 413 and "100000" in too_many.get_json()["error"]["message"]
    hand = create_app(engine=engine).test_client()
    token = users.create_token(engine.uow(), username="h_dong1", now=engine.now())
    refused = hand.post(
        "/api/v1/anomalies", json={"topic": TOPIC, "items": [item(1)]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 403
    assert api.get("/api/v1/anomaly-batches").get_json()["total"] == 0  # nothing was stored


def test_intake_settings_through_the_api_never_show_the_source_url(engine, org, api, tmp_path):
    source = tmp_path / "marketing.db"
    url = f"sqlite:///{source}"
    put = api.put(
        f"/api/v1/topics/{TOPIC}/intake",
        json={"raise_at": 1, "sql_url": url, "sql_query": "SELECT * FROM anomalies", "check_every_hours": 24},
    )
    assert put.status_code == 200, put.get_json()
    body = put.get_json()
    assert body["has_sql_source"] is True and str(source) not in put.get_data(as_text=True)
    assert str(source) not in api.get(f"/api/v1/topics/{TOPIC}/intake").get_data(as_text=True)
    bad = api.put(f"/api/v1/topics/{TOPIC}/intake", json={"warn_at": 5, "raise_at": 1, "sql_query": "DELETE FROM x"})
    assert bad.status_code == 422 and {"warn_at", "sql_query"} <= set(bad.get_json()["error"]["details"]["fields"])
    kept = api.put(f"/api/v1/topics/{TOPIC}/intake", json={"raise_at": 2, "sql_query": "SELECT 1 AS a"})
    assert kept.get_json()["has_sql_source"] is True  # sql_url absent: kept
    removed = api.put(f"/api/v1/topics/{TOPIC}/intake", json={"sql_url": None})
    assert removed.get_json()["has_sql_source"] is False


def test_a_failing_sql_source_is_reported_to_the_topic_owner_and_never_crashes_the_tick(engine, org, tmp_path):
    topic_intake.set_intake(
        engine.uow(), topic_code=TOPIC, actor=org["auditor"], now=engine.now(), box=engine.secret_box,
        sql_url=f"sqlite:///{tmp_path / 'missing.db'}", sql_query="SELECT * FROM anomalies",
    )  # fmt: skip
    jobs.tick(engine)
    setting = topic_intake.get_intake(engine.uow(), topic_code=TOPIC, actor=org["auditor"])
    assert setting.last_check_error and setting.next_check_at == engine.now() + dt.timedelta(hours=24)
    owner_reminders = reminders.list_reminders(engine.uow(), actor=org["auditor"])
    assert [r.subject_id for r in owner_reminders if r.category == "anomaly_warning"] == [TOPIC]


def test_the_audit_initiation_rate_counts_the_units_anomalies_and_the_cases_they_raised(engine, org):
    """稽查异常问题发起率 = anomalies raising a case / anomalies found, per team and unit; none per person."""
    send(engine, org, [item(n, target=f"T-{n}", unit="JC-DONG-1") for n in range(4)])
    merged = send(engine, org, [item(10 + n, target="T-0", unit="JC-DONG-1") for n in range(2)])
    assert (merged.raised, merged.merged) == (0, 2)
    send(engine, org, [item(20, target="T-20", unit="JC-XI-1")])
    evaluation_of = {
        level: {
            row.key: row for row in evaluation.kpis(engine.uow(), actor=org["admin"], period="2026-11", level=level)
        }
        for level in ("team", "unit", "person")
    }
    station = evaluation_of["team"]["JC-DONG-1"]
    assert (station.counts.anomalies_found, station.counts.anomalies_raised) == (6, 4)
    assert station.audit_initiation_rate == pytest.approx(4 / 6)
    assert evaluation_of["unit"]["JC-DONG"].audit_initiation_rate == pytest.approx(4 / 6)
    assert evaluation_of["unit"]["JC-XI"].audit_initiation_rate == pytest.approx(1.0)
    assert all(row.audit_initiation_rate is None for row in evaluation_of["person"].values())
