"""`auditloop demo`: a living system for newcomers — an organisation, people, published topics and cases."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.bootstrap import Engine
from engine.domain.errors import EngineError
from engine.domain.views import Actor, InstanceView
from engine.scheduler import jobs
from engine.services import anomalies, cases, definitions, documents, tasks, topic_intake, topics, users

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credentials
SYSTEM = Actor("demo", frozenset({"admin"}))

UNITS = [
    ("JC", "江城供电公司", None),
    ("JC-DONG", "东区供电局", "JC"),
    ("JC-XI", "西区供电局", "JC"),
    ("JC-BEI", "北县供电局", "JC"),
    ("JC-DONG-1", "东湖供电所", "JC-DONG"),
    ("JC-DONG-2", "东山供电所", "JC-DONG"),
    ("JC-XI-1", "西城供电所", "JC-XI"),
    ("JC-XI-2", "西岭供电所", "JC-XI"),
    ("JC-BEI-1", "北镇供电所", "JC-BEI"),
    ("JC-BEI-2", "北塘供电所", "JC-BEI"),
]
PEOPLE = [
    ("admin", "系统管理员", ["admin"], "JC"),
    ("owner", "流程负责人 周敏", ["process_owner"], "JC"),
    ("auditor", "稽查员 李强", ["auditor"], "JC"),
    ("dispatcher", "派工员 王芳", ["dispatcher"], "JC"),
    ("reviewer", "稽查审核员 陈静", ["reviewer"], "JC"),
    ("supervisor", "稽查监控中心 刘洋", ["supervisor"], "JC"),
    ("archivist", "档案收集员 赵丽", ["archive_collector"], "JC"),
    ("head_dong", "东区局长 孙伟", ["unit_head"], "JC-DONG"),
    ("head_xi", "西区局长 吴磊", ["unit_head"], "JC-XI"),
    ("head_bei", "北县局长 郑涛", ["unit_head"], "JC-BEI"),
    ("h_dong1", "业务人员 何明", ["handler"], "JC-DONG-1"),
    ("h_dong2", "业务人员 高峰", ["handler"], "JC-DONG-2"),
    ("h_xi1", "业务人员 林雪", ["handler"], "JC-XI-1"),
    ("h_xi2", "业务人员 罗杰", ["handler"], "JC-XI-2"),
    ("h_bei1", "业务人员 梁洁", ["handler"], "JC-BEI-1"),
    ("h_bei2", "业务人员 宋佳", ["handler"], "JC-BEI-2"),
]
TOPICS = [
    ("TARIFF-01", "居民电价执行异常", "tariff", "居民用户执行非居民电价或反之", "raise > 0"),
    ("METER-02", "计量装置倍率异常", "metering", "电能表倍率与档案不一致", "raise > 1"),
    ("DATA-03", "用户档案数据质量", "data_quality", "用户档案关键字段缺失或矛盾", ""),
]
ANOMALIES = [
    "居民用户按一般工商业电价计费",
    "电能表倍率档案为 30，现场为 40",
    "用户联系电话缺失",
    "合同容量与档案容量不一致",
    "业扩报装超时限未归档",
]
ARGUMENT = "必要性：近期多发，影响电费回收；可行性：数据可从营销系统取得"
PDF = b"%PDF-1.4\n% AuditLoop demo document\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def load_demo(engine: Engine, root: Path, echo: Callable[[str], None] = click.echo) -> None:
    """Load everything; refuses to run twice on the same database."""
    if users.list_units(engine.uow(readonly=True)):
        raise click.ClickException("the database already has an organisation; run the demo on an empty database")
    now = engine.now()
    files, forms = _collect(root)
    for result in definitions.deploy_definition(
        engine.uow(), files=files, forms=forms, actor=SYSTEM, now=now, comment="demo"
    ):
        echo(f"process {result.key} version {result.version}")
    for code, name, parent in UNITS:
        users.add_unit(engine.uow(), code=code, name=name, parent_code=parent, actor=SYSTEM, now=now)
    echo(f"{len(UNITS)} units: 1 city company, 3 district bureaus, 6 supply stations")
    people: dict[str, Actor] = {}
    for username, display, roles, unit in PEOPLE:
        users.add_user(
            engine.uow(),
            username=username,
            display_name=display,
            roles=roles,
            unit_code=unit,
            password=DEMO_PASSWORD,
            now=now,
        )
        people[username] = users.get_actor(engine.uow(), username=username)
        echo(f"  user {username:<11} {display} ({', '.join(roles)}, {unit}) password {DEMO_PASSWORD}")
    started = now - dt.timedelta(days=40)
    for code, name, area, criteria, thresholds in TOPICS:
        _publish_topic(
            engine, people, code=code, name=name, area=area, criteria=criteria, thresholds=thresholds, at=started
        )
    echo(f"{len(TOPICS)} topics published and active")
    rng = random.Random(2026)
    stations = [u for u in UNITS if u[0].count("-") == 2]
    for number in range(30):
        station = stations[number % len(stations)][0]
        handler = next(p[0] for p in PEOPLE if p[3] == station)
        stage = (number + number // len(stations)) % 6  # every station sees several stages
        # Later stages took days to reach: start them early enough that no step lies in the future.
        age_days = rng.randint(0, 20) + STAGE_SPAN_DAYS[stage]
        _drive_case(
            engine,
            people,
            station=station,
            handler=handler,
            stage=stage,
            at=now - dt.timedelta(days=age_days, hours=rng.randint(0, 8)),
            topic=TOPICS[number % 3][0],
            number=number,
        )
    jobs.tick(engine)
    echo("30 cases across every stage (dispatch, handling, review, rectification, archive, closed); some overdue")
    report = _take_in_anomalies(engine, people, stations=[s[0] for s in stations], now=now)
    echo(
        f"an anomaly batch under METER-02: {report['received']} received, {report['raised']} raised cases "
        f"(dispatched by rule), {report['warned']} warned, {report['recorded']} recorded, "
        f"{report['rejected']} rejected"
    )
    echo(f"Sign in with any user above and the password {DEMO_PASSWORD}.")


def _take_in_anomalies(
    engine: Engine, people: dict[str, Actor], *, stations: list[str], now: dt.datetime
) -> dict[str, int]:
    """A week of meter-ratio anomalies through intake: thresholds decide, the topic's rule dispatches what it raises."""
    topic_intake.set_intake(
        engine.uow(),
        topic_code="METER-02",
        actor=SYSTEM,
        now=now,
        box=engine.secret_box,
        warn_at=1.1,
        raise_at=1.3,
        risk_level=2,
        assign_handler=True,
        start_at_handle=True,
    )
    rng = random.Random(8)
    items: list[dict[str, Any]] = []
    for n in range(40):
        ratio = (1.0, 1.05, 1.2, 1.5)[0 if n % 10 < 6 else 1 if n % 10 < 8 else 2 if n % 10 == 8 else 3]
        items.append(
            {
                "external_id": f"YC-METER-{n + 1:04d}",
                "target": f"电能表 {5200000 + n * 37}",
                "unit": stations[n % len(stations)],
                "value": ratio,
                "observed_at": (now - dt.timedelta(days=n % 7, hours=rng.randint(1, 9))).isoformat(),
                "description": f"电能表倍率档案为 30，现场核定倍率比 {ratio}",
            }
        )
    items.append({**items[0], "external_id": "YC-METER-BAD", "unit": "NO-SUCH-UNIT"})  # a refused row, by reason
    batch = anomalies.submit_batch(
        engine.uow(), topic_code="METER-02", items=items, source="api", actor=people["auditor"], now=now, owner="demo"
    )
    done = anomalies.work_batch(engine.uow, batch_id=batch.id, owner="demo", clock=engine.now)
    return {name: getattr(done, name) for name in ("received", "raised", "warned", "recorded", "rejected")}


def _collect(root: Path) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
    from cli import collect_files

    return collect_files([root / "processes"])


def _task(view: InstanceView, bpmn_id: str) -> str:
    return next(t.id for t in view.tasks if t.bpmn_id == bpmn_id)


def _publish_topic(
    engine: Engine,
    people: dict[str, Actor],
    *,
    code: str,
    name: str,
    area: str,
    criteria: str,
    thresholds: str,
    at: dt.datetime,
) -> None:
    topic = topics.create_topic(engine.uow(), code=code, name=name, business_area=area, actor=people["auditor"], now=at)
    instance_id = topic.instance_id or ""
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "draft",
            "auditor",
            {
                "criteria": criteria,
                "thresholds": thresholds,
                "data_source": "营销业务系统",
                "argument": ARGUMENT,
                "effective_date": at.date().isoformat(),
            },
        ),
        ("business_review", "reviewer", {"agree": True, "opinion": "同意"}),
        ("system_review", "owner", {"agree": True, "opinion": "数据源可用"}),
        ("approve", "supervisor", {"approved": True, "comment": "同意发布"}),
        ("publish", "admin", {"confirm": True}),
    ]
    for i, (step, who, data) in enumerate(steps):
        complete_step(engine, instance_id, step, people[who], data, at + dt.timedelta(hours=i + 1))
    jobs.tick(engine)  # the effective date has passed: the topic becomes active


def complete_step(
    engine: Engine, instance_id: str, step: str, actor: Actor, data: dict[str, Any], at: dt.datetime
) -> InstanceView:
    """Complete the open task of `step` in an instance as `actor` at `at` (the demo's and the tests' shortcut)."""
    from engine.services import instances

    view = instances.get_instance(engine.uow(readonly=True), instance_id=instance_id, actor=SYSTEM)
    return tasks.complete_task(engine.uow(), task_id=_task(view, step), data=data, actor=actor, now=at)


def _attach(engine: Engine, instance_id: str, step: str, doc_type: str, actor: Actor, at: dt.datetime) -> None:
    documents.attach_document(
        engine.uow(),
        store=engine.file_store,
        instance_id=instance_id,
        step=step,
        doc_type=doc_type,
        filename=f"{doc_type}.pdf",
        content=PDF,
        actor=actor,
        now=at,
    )


# Days the steps of _drive_case take to reach each stage (at most; rounded up).
STAGE_SPAN_DAYS = (0, 1, 2, 2, 4, 5)


def _drive_case(
    engine: Engine,
    people: dict[str, Actor],
    *,
    station: str,
    handler: str,
    stage: int,
    at: dt.datetime,
    topic: str,
    number: int,
) -> None:
    case = cases.raise_case(
        engine.uow(),
        topic_code=topic,
        target=f"{3100000000 + number * 7919}",
        anomaly=ANOMALIES[number % len(ANOMALIES)],
        risk_level=1 + number % 4,
        unit_code="JC",
        source="营销系统监控",
        actor=people["auditor"],
        now=at,
    )
    instance_id = case.instance_id or ""
    step_at = at + dt.timedelta(hours=2)
    try:
        if stage == 0:
            return  # waits at dispatch
        complete_step(
            engine,
            instance_id,
            "dispatch",
            people["dispatcher"],
            {"unit": station, "handler": handler, "time_limit_days": 5},
            step_at,
        )
        if stage == 1:
            return  # handling
        step_at += dt.timedelta(days=1)
        _attach(engine, instance_id, "handle", "investigation_report", people[handler], step_at)
        needs_rectification = stage >= 3
        complete_step(
            engine,
            instance_id,
            "handle",
            people[handler],
            {
                "findings": "现场核查属实",
                "cause": "档案维护错误",
                "is_false_positive": False,
                "needs_rectification": needs_rectification,
            },
            step_at,
        )
        if stage == 2:
            return  # result review
        step_at += dt.timedelta(hours=6)
        complete_step(engine, instance_id, "review_result", people["reviewer"], {"approved": True}, step_at)
        if needs_rectification:
            step_at += dt.timedelta(hours=3)
            complete_step(
                engine,
                instance_id,
                "notice",
                people["reviewer"],
                {"notice": "更正用户电价档案并追补电费", "deadline_days": 7},
                step_at,
            )
            if stage == 3:
                return  # rectifying
            step_at += dt.timedelta(days=2)
            _attach(engine, instance_id, "measures", "rectification_evidence", people[handler], step_at)
            complete_step(
                engine,
                instance_id,
                "measures",
                people[handler],
                {"measures": "已更正档案", "evidence": "更正单及追补凭证"},
                step_at,
            )
            step_at += dt.timedelta(hours=5)
            complete_step(
                engine,
                instance_id,
                "rectification_review",
                people["reviewer"],
                {"verdict": "accepted", "comment": "整改到位"},
                step_at,
            )
        if stage == 4:
            return  # archiving
        step_at += dt.timedelta(hours=20)
        _attach(engine, instance_id, "archive", "archive_dossier", people["archivist"], step_at)
        complete_step(
            engine,
            instance_id,
            "archive",
            people["archivist"],
            {"received": True, "archive_no": f"DA-{number:04d}"},
            step_at,
        )
    except EngineError as exc:
        raise click.ClickException(f"demo case {case.case_no}: {exc.message}") from exc
