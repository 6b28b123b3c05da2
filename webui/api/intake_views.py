"""API routes of anomaly intake: send a batch, follow its report, a topic's intake settings."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request

from engine.domain.errors import PayloadTooLargeError
from engine.domain.views import AnomalyBatchView, TopicIntakeView
from engine.services import anomalies, topic_intake
from webui import app_engine
from webui.api import bp, schemas
from webui.api.inputs import json_body
from webui.api.serialize import page_json, plain
from webui.auth import current_actor, login_required

MAX_INTAKE_BYTES = 64 * 1024 * 1024  # 100k items of about 600 bytes each


def batch_json(b: AnomalyBatchView) -> dict[str, Any]:
    return plain(b, url=f"/api/v1/anomaly-batches/{b.id}")


def intake_json(v: TopicIntakeView) -> dict[str, Any]:
    return plain(v)


@bp.post("/anomalies")
@login_required
def submit_anomalies() -> tuple[dict[str, Any], int]:
    engine = app_engine()
    if (request.content_length or 0) > MAX_INTAKE_BYTES:
        raise PayloadTooLargeError(
            f"the request is larger than {MAX_INTAKE_BYTES // (1024 * 1024)} MB; split the items into several batches"
        )
    request.max_content_length = MAX_INTAKE_BYTES  # a batch may be larger than other requests
    args = json_body(schemas.AnomalyBatchSchema())
    items = args["items"]
    # Small batches are worked here and now (the answer already holds the report); larger ones by the scheduler.
    owner = (
        f"request:{uuid.uuid4().hex[:12]}" if isinstance(items, list) and len(items) <= anomalies.INLINE_ITEMS else None
    )
    view = anomalies.submit_batch(
        engine.uow(), topic_code=args["topic"], items=items, source="api", actor=current_actor(), now=engine.now(),
        owner=owner,
    )  # fmt: skip
    if owner is not None:
        view = anomalies.work_batch(engine.uow, batch_id=view.id, owner=owner, clock=engine.now)
    return batch_json(view), 202


@bp.get("/anomaly-batches")
@login_required
def list_anomaly_batches() -> dict[str, Any]:
    args = schemas.AnomalyBatchListArgs().load(request.args)
    page = anomalies.list_batches(
        app_engine().uow(readonly=True),
        actor=current_actor(),
        topic_code=args["topic"],
        limit=args["limit"],
        offset=args["offset"],
    )
    return page_json(page, batch_json)


@bp.get("/anomaly-batches/<int:batch_id>")
@login_required
def get_anomaly_batch(batch_id: int) -> dict[str, Any]:
    args = schemas.AnomalyBatchArgs().load(request.args)
    view = anomalies.get_batch(
        app_engine().uow(readonly=True),
        batch_id=batch_id,
        actor=current_actor(),
        rejections_limit=args["rejections_limit"],
    )
    return batch_json(view)


@bp.get("/topics/<code>/intake")
@login_required
def get_topic_intake(code: str) -> dict[str, Any]:
    return intake_json(topic_intake.get_intake(app_engine().uow(readonly=True), topic_code=code, actor=current_actor()))


@bp.put("/topics/<code>/intake")
@login_required
def set_topic_intake(code: str) -> dict[str, Any]:
    engine = app_engine()
    args = json_body(schemas.TopicIntakeSchema())
    view = topic_intake.set_intake(
        engine.uow(),
        topic_code=code,
        actor=current_actor(),
        now=engine.now(),
        box=engine.secret_box,
        warn_at=args["warn_at"],
        raise_at=args["raise_at"],
        risk_level=args["risk_level"],
        unit_map=args["unit_map"],
        assign_handler=args["assign_handler"],
        start_at_handle=args["start_at_handle"],
        sql_url=args.get("sql_url", topic_intake.UNCHANGED),
        sql_query=args["sql_query"],
        check_every_hours=args["check_every_hours"],
    )
    return intake_json(view)
