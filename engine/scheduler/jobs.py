"""Each job claims its work, makes one service call per item, logs, and goes on."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from engine.bootstrap import Engine
from engine.domain.errors import ConflictError, EngineError
from engine.domain.views import SweepReport
from engine.services import deadlines, timers

log = logging.getLogger(__name__)

OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def tick(engine: Engine, *, owner: str = OWNER, batch: int = 200) -> SweepReport:
    """One sweep: fire due timers (each in its own transaction), then refresh time states."""
    now = engine.now()
    fired = errors = 0
    timer_ids = timers.claim_due_timers(
        engine.uow(), now=now, owner=owner, lease_s=engine.settings.timer_lease_s, limit=batch
    )
    for timer_id in timer_ids:
        try:
            if timers.fire_timer(engine.uow(), timer_id=timer_id, owner=owner, now=engine.now()):
                fired += 1
        except ConflictError:
            log.info("timer %s: instance changed meanwhile; it will be retried when the lease ends", timer_id)
        except EngineError as exc:
            errors += 1
            log.warning("timer %s failed: %s", timer_id, exc)
        except Exception:
            errors += 1
            log.exception("timer %s failed unexpectedly", timer_id)
    changed = deadlines.refresh_time_states(engine.uow(), now=engine.now())
    return SweepReport(timers_fired=fired, time_states_changed=changed, errors=errors)
