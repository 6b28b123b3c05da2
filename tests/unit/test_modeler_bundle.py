"""The modeler's own JavaScript, run by Node: what the properties panel writes deploys with those task properties,
and the local bpmnlint rules flag in the editor the mistakes the engine refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.bpmn import catalog
from engine.domain.errors import InvalidProcessError
from tests.helpers import ROOT, linear_process

SCRIPT = Path(__file__).parent / "js" / "modeler_check.mjs"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (ROOT / "node_modules" / "esbuild").is_dir(),
    reason="Node.js and node_modules (npm ci) are needed to run the modeler's JavaScript",
)
PROPERTIES = {
    "role": "reviewer",
    "form": "review_result",
    "timeLimit": "P3D",
    "requiredDocuments": "investigation_report, archive_dossier",
    "assignee": "handler",
    "status": "reviewing",
    "record": "result_reviewed",
}


def _node(*args: str) -> str:
    assert NODE is not None
    done = subprocess.run([NODE, str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _lint(tmp_path: Path, **diagrams: str) -> dict[str, set[tuple[str, str]]]:
    files = []
    for name, xml in diagrams.items():
        (tmp_path / f"{name}.bpmn").write_text(xml, encoding="utf-8")
        files.append(str(tmp_path / f"{name}.bpmn"))
    report = json.loads(_node("lint", *files))
    return {
        Path(f).stem: {(i["rule"], i["id"]) for i in issues if i["category"] == "error"} for f, issues in report.items()
    }


def test_what_the_properties_panel_writes_deploys_with_those_properties(tmp_path: Path) -> None:
    source = tmp_path / "plain.bpmn"
    source.write_text(linear_process("panel", lane=""), encoding="utf-8")
    xml = _node("write", str(source), "Task_1", json.dumps(PROPERTIES))
    assert "<spiffworkflow:properties>" in xml
    [compiled] = catalog.compile_definitions([catalog.SourceFile("panel.bpmn", xml.encode())], allow_scripts=False)
    task = compiled.human_tasks["Task_1"]
    assert (task.lane, task.form, task.time_limit, task.assignee_field, task.status, task.record) == (
        "reviewer",
        "review_result",
        "P3D",
        "handler",
        "reviewing",
        "result_reviewed",
    )
    assert task.required_documents == ("investigation_report", "archive_dossier")

    (tmp_path / "edited.bpmn").write_text(xml, encoding="utf-8")
    cleared = _node("write", str(tmp_path / "edited.bpmn"), "Task_1", json.dumps({"timeLimit": "", "form": "other"}))
    [again] = catalog.compile_definitions([catalog.SourceFile("panel.bpmn", cleared.encode())], allow_scripts=False)
    assert (again.human_tasks["Task_1"].time_limit, again.human_tasks["Task_1"].form) == (None, "other")
    assert cleared.count('name="form"') == 1


def test_the_editor_flags_what_deploy_refuses(tmp_path: Path) -> None:
    bad_limit = _node("write", _save(tmp_path, "l", linear_process("l")), "Task_1", json.dumps({"timeLimit": "3 days"}))
    timer = linear_process("t").replace(
        '<bpmn:startEvent id="Start_1">', '<bpmn:startEvent id="Start_1"><bpmn:timerEventDefinition id="T_1" />'
    )
    found = _lint(
        tmp_path,
        case=(ROOT / "processes" / "audit_case" / "audit_case.bpmn").read_text(encoding="utf-8"),
        no_role=linear_process("r", lane=""),
        with_role=_node("write", _save(tmp_path, "r2", linear_process("r2", lane="")), "Task_1", '{"role": "clerk"}'),
        bad_limit=bad_limit,
        not_executable=linear_process("n").replace('isExecutable="true"', 'isExecutable="false"'),
        empty_timer=timer,
    )
    assert found["case"] == set()
    assert found["with_role"] == set()
    assert found["no_role"] == {("auditloop/user-task-role", "Task_1")}
    assert found["bad_limit"] == {("auditloop/time-limit", "Task_1")}
    assert found["not_executable"] == {("auditloop/executable-process", "n")}
    assert found["empty_timer"] == {("auditloop/timer-value", "Start_1")}
    # ... and the engine refuses them too (the role is advice there: a task without one goes to anyone in the unit).
    for name in ("bad_limit", "not_executable", "empty_timer"):
        with pytest.raises(InvalidProcessError):
            xml = (tmp_path / f"{name}.bpmn").read_bytes()
            catalog.compile_definitions([catalog.SourceFile(f"{name}.bpmn", xml)], allow_scripts=False)


def _save(tmp_path: Path, name: str, xml: str) -> str:
    path = tmp_path / f"{name}.src.bpmn"
    path.write_text(xml, encoding="utf-8")
    return str(path)
