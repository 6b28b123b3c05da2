"""The BPMN MIWG reference diagrams: each one deploys and runs, or is refused with located problems; never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.catalog import SourceFile, compile_definitions
from engine.bpmn.scripting import script_engine
from engine.bpmn.serializer import load_spec
from engine.domain.errors import InvalidProcessError

MIWG = Path(__file__).resolve().parents[1] / "fixtures" / "miwg"  # the MIWG reference diagrams (CC BY 3.0)
DIAGRAMS = sorted(MIWG.glob("*.bpmn"))

# The verdicts docs/conformance.md explains; a change here means that page needs updating too.
DEPLOYS = {"C.9.1.bpmn"}


def _library(diagram: Path) -> list[SourceFile]:
    # The other reference diagrams stand in for what is already deployed, so cross-file call activities resolve.
    return [SourceFile(p.name, p.read_bytes()) for p in DIAGRAMS if p != diagram]


@pytest.mark.parametrize("allow_scripts", [True, False], ids=["admin", "owner"])
@pytest.mark.parametrize("diagram", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_reference_diagram(diagram: Path, allow_scripts: bool) -> None:
    source = SourceFile(diagram.name, diagram.read_bytes())
    try:
        compiled = compile_definitions([source], library=_library(diagram), allow_scripts=allow_scripts)
    except InvalidProcessError as refused:
        assert diagram.name not in DEPLOYS, [str(p) for p in refused.problems]
        assert refused.problems
        for problem in refused.problems:
            assert problem.file is not None, problem
            assert problem.message.strip(), problem
        # Every problem in the uploaded file points at a line a process owner can open.
        own = [p for p in refused.problems if p.file == diagram.name]
        assert own and all(p.line is not None for p in own), [str(p) for p in own]
        return

    assert diagram.name in DEPLOYS
    assert compiled
    for process in compiled:
        bundle = load_spec(process.spec_json)
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine())
        workflow.refresh_timers()
        workflow.do_engine_steps()
        assert not workflow.get_tasks(state=TaskState.ERROR)
        waiting = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        assert waiting or workflow.is_completed()


def test_the_reference_diagrams_are_here() -> None:
    """The set is part of the repository: a clone alone runs the whole conformance check, nothing is skipped."""
    assert len(DIAGRAMS) == 21
