"""Entry point: `python -m bench.run [--smoke] [--only B1,B3,B4,B5,B6]` prints the table and writes bench/results/."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench import (
    b1_runtime,
    b3_throughput,
    b4_inbox,
    b5_deadlines,
    b6_exactly_once,
    b10_intake,
    b11_board_kpis,
    machine,
    process,
    report,
)

BENCHMARKS = ("B1", "B3", "B4", "B5", "B6", "B10", "B11")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Run the AuditLoop benchmarks.")
    parser.add_argument("--smoke", action="store_true", help="about a tenth of the sizes; under two minutes")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset, e.g. B1,B4")
    args = parser.parse_args(argv)
    wanted = [b.strip().upper() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(wanted) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    began = time.perf_counter()
    info = machine.describe()
    proc = process.load()
    mode = "smoke" if args.smoke else "full"
    _say(f"AuditLoop benchmarks ({mode}): {info['line']}")
    _say(f"process: {proc.label} (key {proc.key}; the human task completed is {proc.first_task})")

    rows: list[report.Row] = []
    written = []
    failures: list[str] = []
    r_spiff_s: float | None = None

    def finish(name: str, result: dict[str, Any], case_rows: list[report.Row], t0: float) -> None:
        result.update(mode=mode, elapsed_s=round(time.perf_counter() - t0, 1), machine=info)
        written.append(report.write(name, result, smoke=args.smoke))
        rows.extend(case_rows)
        _say(f"{name} done in {result['elapsed_s']} s")

    if "B1" in wanted:
        _say("B1: engine in memory vs bare SpiffWorkflow …")
        t0 = time.perf_counter()
        result, case_rows = b1_runtime.run(smoke=args.smoke, proc=proc)
        r_spiff_s = result["reference_r_spiff"]["lifecycle"]["mean_ms"] / 1000
        finish("B1", result, case_rows, t0)
    if "B3" in wanted:
        _say("B3: service-layer throughput (1 and 2 processes per database) …")
        t0 = time.perf_counter()
        result, case_rows = b3_throughput.run(smoke=args.smoke, proc=proc, r_spiff_s=r_spiff_s)
        finish("B3", result, case_rows, t0)
    if "B4" in wanted:
        _say("B4: inbox query (generating data, checking the plan, 1 and 8 readers) …")
        t0 = time.perf_counter()
        result, case_rows = b4_inbox.run(smoke=args.smoke, proc=proc)
        failures += [c["plan_problem"] for c in result["cases"] if c["plan_problem"]]
        finish("B4", result, case_rows, t0)
    if "B5" in wanted:
        _say("B5: deadline sweep (generating data; idle and crossing ticks; timers fired by the tick) …")
        t0 = time.perf_counter()
        result, case_rows = b5_deadlines.run(smoke=args.smoke)
        failures += [c["plan_problem"] for c in result["cases"] if c["plan_problem"]]
        finish("B5", result, case_rows, t0)
    if "B6" in wanted:
        _say("B6: exactly once under contention (PostgreSQL: 4 completing processes; 2 sweepers, one killed) …")
        t0 = time.perf_counter()
        result, case_rows = b6_exactly_once.run(smoke=args.smoke)
        if result.get("skipped"):
            _say(f"B6 skipped: {result['skipped']}")
        finish("B6", result, case_rows, t0)

    if "B10" in wanted:
        _say("B10: anomaly intake (a mixed batch in 1,000-item chunks; raising; the same batch again) …")
        t0 = time.perf_counter()
        result, case_rows = b10_intake.run(smoke=args.smoke)
        finish("B10", result, case_rows, t0)

    if "B11" in wanted:
        _say("B11: board and KPI queries over 1M tasks of history (generating data, checking the plans) …")
        t0 = time.perf_counter()
        result, case_rows = b11_board_kpis.run(smoke=args.smoke)
        failures += [r["plan_problem"] for r in result["results"] if r["plan_problem"]]
        finish("B11", result, case_rows, t0)

    print(f"AuditLoop benchmarks ({mode}) | process {proc.label} | {info['line']}")
    print(report.table(rows))
    print(f"results: {', '.join(str(p) for p in written)} | total {time.perf_counter() - began:.0f} s")
    if failures:
        print("\n" + "\n\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
