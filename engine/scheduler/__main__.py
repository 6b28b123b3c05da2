"""`python -m engine.scheduler`: the scheduler alone, for multi-node deployments."""

from __future__ import annotations

import logging

from engine.bootstrap import build_engine
from engine.scheduler.runner import run_blocking

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_blocking(build_engine())
