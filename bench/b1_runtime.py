"""B1: the engine in memory — start and complete one human task through ProcessRun vs bare SpiffWorkflow."""

from __future__ import annotations

import datetime as dt
import gc
import time
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench import process
from bench.report import Row, verdict
from bench.stats import summarize
from engine.bpmn import catalog
from engine.bpmn.runtime import ProcessRun

PHASES = ("start", "dump", "load", "complete", "dump2")
OVERHEAD_TARGET = 1.3
STATE_TARGET_BYTES = 16 * 1024
WARMUP = 50


@dataclass
class Lifecycle:
    """One measured start + complete: per-phase seconds, state sizes, and the task it stopped at."""

    phases: tuple[float, ...]
    state_bytes: tuple[int, int]  # after start, after the completion
    waiting_at: str

    @property
    def total(self) -> float:
        return sum(self.phases)


class BareSpiff:
    """The library floor: the same diagram parsed by SpiffBpmnParser, run and serialized by plain SpiffWorkflow."""

    def __init__(self, proc: process.BenchProcess) -> None:
        try:
            self.spec, self.subprocess_specs = _parse(proc)
            self.spec_origin = "SpiffBpmnParser on the diagram as the catalog normalises it"
        except Exception as exc:  # catalog internals moved: fall back to the deployed spec
            self.spec, self.subprocess_specs = proc.bundle.spec, proc.bundle.subprocess_specs
            self.spec_origin = f"the deployed spec (normalised parse failed: {type(exc).__name__}: {exc})"
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.start_data = proc.start_data
        self.task_data = proc.task_data

    def lifecycle(self) -> Lifecycle:
        clock = time.perf_counter
        t0 = clock()
        wf = BpmnWorkflow(self.spec, self.subprocess_specs)
        first = wf.get_next_task(state=TaskState.READY)
        if first is not None:
            first.data.update(self.start_data)
        wf.do_engine_steps()
        t1 = clock()
        state = self.serializer.serialize_json(wf)
        t2 = clock()
        wf = self.serializer.deserialize_json(state)
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        t3 = clock()
        task.set_data(**self.task_data)
        task.run()
        wf.do_engine_steps()
        t4 = clock()
        state2 = self.serializer.serialize_json(wf)
        t5 = clock()
        waiting = wf.get_next_task(state=TaskState.READY, manual=True)
        return Lifecycle(
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
            (len(state.encode()), len(state2.encode())),
            waiting.task_spec.bpmn_id if waiting else "-",
        )


def _parse(proc: process.BenchProcess) -> tuple[Any, dict[str, Any]]:
    """Parse with SpiffBpmnParser after the catalog's normalisation (Camunda-style ${x} and PT48H literals
    become Python expressions at deploy; the raw diagram would not run in bare Spiff)."""
    parser = SpiffBpmnParser()
    for name, content in proc.files:
        problems = catalog._Problems()
        doc = catalog._read(catalog.SourceFile(name, content), problems, from_library=False)
        if doc is None:
            raise ValueError(f"{name}: {problems.items}")
        if doc.is_dmn:
            parser.add_dmn_xml(doc.root, filename=name)
        else:
            catalog._normalise(doc, problems, report=False)
            parser.add_bpmn_xml(doc.root, filename=name)
    return parser.get_spec(proc.key), parser.get_subprocess_specs(proc.key)


class Facade:
    """The engine's runtime facade doing the same: ProcessRun.start, dump, ProcessRun.load, complete, dump."""

    def __init__(self, proc: process.BenchProcess) -> None:
        self.bundle = proc.bundle
        self.start_data = proc.start_data
        self.task_data = proc.task_data

    def lifecycle(self) -> Lifecycle:
        clock = time.perf_counter
        now = dt.datetime.now(dt.UTC)
        t0 = clock()
        run = ProcessRun.start(self.bundle, dict(self.start_data), now=now)
        t1 = clock()
        state = run.dump()
        t2 = clock()
        run = ProcessRun.load(self.bundle, state)
        task_id = run.open_tasks()[0].id
        t3 = clock()
        run.complete(task_id, dict(self.task_data), now=now)
        t4 = clock()
        state2 = run.dump()
        t5 = clock()
        waiting = run.open_tasks()
        return Lifecycle(
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
            (len(state.encode()), len(state2.encode())),
            waiting[0].bpmn_id if waiting else "-",
        )


def measure_bare(proc: process.BenchProcess, n: int) -> list[Lifecycle]:
    """n bare-Spiff lifecycles (after a warm-up), for benchmarks that need R-spiff without running B1."""
    bare = BareSpiff(proc)
    for _ in range(WARMUP):
        bare.lifecycle()
    return [bare.lifecycle() for _ in range(n)]


def run(*, smoke: bool, proc: process.BenchProcess) -> tuple[dict[str, Any], list[Row]]:
    n = 500 if smoke else 5000
    ours, bare = Facade(proc), BareSpiff(proc)
    for _ in range(WARMUP):
        a, b = ours.lifecycle(), bare.lifecycle()
    if a.waiting_at != b.waiting_at:
        raise RuntimeError(f"B1 compares unlike runs: the engine waits at {a.waiting_at}, bare Spiff at {b.waiting_at}")
    gc.collect()
    ours_runs: list[Lifecycle] = []
    bare_runs: list[Lifecycle] = []
    for i in range(n):  # interleaved, alternating who goes first, so drift and noise hit both sides alike
        if i % 2:
            ours_runs.append(ours.lifecycle())
            bare_runs.append(bare.lifecycle())
        else:
            bare_runs.append(bare.lifecycle())
            ours_runs.append(ours.lifecycle())

    ours_total, bare_total = summarize([r.total for r in ours_runs]), summarize([r.total for r in bare_runs])
    ratio_median = ours_total.median_ms / bare_total.median_ms
    ratio_mean = ours_total.mean_ms / bare_total.mean_ms
    # Start + complete only (no state JSON either way): the facade's own cost over the library's.
    ours_exec = summarize([r.phases[0] + r.phases[3] for r in ours_runs])
    bare_exec = summarize([r.phases[0] + r.phases[3] for r in bare_runs])
    ratio_exec = ours_exec.median_ms / bare_exec.median_ms
    ours_bytes = max(r.state_bytes[1] for r in ours_runs)
    bare_bytes = max(r.state_bytes[1] for r in bare_runs)

    def phases(runs: list[Lifecycle]) -> dict[str, Any]:
        return {name: summarize([r.phases[i] for r in runs]).as_dict() for i, name in enumerate(PHASES)}

    result = {
        "benchmark": "B1",
        "what": "start + complete one human task in memory: ProcessRun facade vs bare SpiffWorkflow",
        "process": proc.label,
        "process_key": proc.key,
        "completed_task": proc.first_task,
        "bare_spec": bare.spec_origin,
        "sizes": {"instances": n, "warmup": WARMUP},
        "engine": {
            "lifecycle": ours_total.as_dict(),
            "throughput_per_s": 1000 / ours_total.mean_ms,
            "phases": phases(ours_runs),
            "state_bytes_after_start": max(r.state_bytes[0] for r in ours_runs),
            "state_bytes_after_complete": ours_bytes,
        },
        "reference_r_spiff": {
            "lifecycle": bare_total.as_dict(),
            "throughput_per_s": 1000 / bare_total.mean_ms,
            "phases": phases(bare_runs),
            "state_bytes_after_start": max(r.state_bytes[0] for r in bare_runs),
            "state_bytes_after_complete": bare_bytes,
            "note": "bare serialize_json embeds the spec in every state; the engine stores the spec once per version",
        },
        "ratio_median": ratio_median,
        "ratio_mean": ratio_mean,
        "ratio_execution_only": {
            "engine": ours_exec.as_dict(),
            "bare": bare_exec.as_dict(),
            "ratio_median": ratio_exec,
            "note": "start + complete phases only, without dump/load: the facade's own overhead",
        },
        "targets": {"overhead_ratio_max": OVERHEAD_TARGET, "state_bytes_max": STATE_TARGET_BYTES},
        "meets": {"overhead": ratio_median <= OVERHEAD_TARGET, "state_bytes": ours_bytes <= STATE_TARGET_BYTES},
    }
    rows = [
        Row(
            "B1",
            f"engine facade ({proc.key})",
            n,
            ours_total.median_ms,
            ours_total.p95_ms,
            ours_total.p99_ms,
            1000 / ours_total.mean_ms,
            f"R-spiff {bare_total.median_ms:.3f} ms",
            f"{ratio_median:.2f}x",
            f"<= {OVERHEAD_TARGET}x",
            verdict(ratio_median <= OVERHEAD_TARGET),
        ),
        Row(
            "B1",
            "bare SpiffWorkflow (R-spiff)",
            n,
            bare_total.median_ms,
            bare_total.p95_ms,
            bare_total.p99_ms,
            1000 / bare_total.mean_ms,
            "",
            "",
            "",
            "",
        ),
        Row(
            "B1",
            "  execution only (no JSON)",
            n,
            ours_exec.median_ms,
            ours_exec.p95_ms,
            ours_exec.p99_ms,
            None,
            f"bare {bare_exec.median_ms:.3f} ms",
            f"{ratio_exec:.2f}x",
            "(info)",
            "",
        ),
        Row(
            "B1",
            "state JSON per instance",
            n,
            float("nan"),
            float("nan"),
            float("nan"),
            None,
            f"bare {bare_bytes:,} B",
            f"{ours_bytes:,} B",
            f"<= {STATE_TARGET_BYTES:,} B",
            verdict(ours_bytes <= STATE_TARGET_BYTES),
        ),
    ]
    return result, rows
