"""The scheduler: one APScheduler tick that runs idempotent sweeps (timers, time states)."""
