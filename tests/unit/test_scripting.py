"""The restricted script environment: what it blocks at run time, what it still runs, and the deploy-time lint."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import catalog, scripting
from engine.bpmn.runtime import ProcessRun, bundle_for
from engine.bpmn.scripting import (
    RestrictedCodeError,
    ScriptTimeLimitError,
    lint_expression,
    lint_script,
    register_helper,
    script_engine,
)
from engine.config import Settings
from tests.helpers import linear_process

# The escape from SPIFFWORKFLOW.md §4 that defeats a plain eval with RestrictedPython's safe_globals.
DUNDER_ESCAPE = (
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]"
    "()._module.__builtins__['__import__']('os')"
)

GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="gate" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:userTask id="yes" />
    <bpmn:userTask id="no" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="yes">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="no" />
  </bpmn:process>
</bpmn:definitions>"""


def _gateway_workflow(condition: str, engine: PythonScriptEngine) -> BpmnWorkflow:
    # Parsed directly, skipping the deploy lint, to prove the runtime guard holds on its own.
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(GATEWAY.replace("{condition}", condition).encode(), "gate.bpmn")
    return BpmnWorkflow(parser.get_spec("gate"), parser.get_subprocess_specs("gate"), script_engine=engine)


def _touch_condition(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch() is None"


def test_import_in_a_condition_runs_with_the_default_engine(tmp_path: Path) -> None:
    # The control: shows the side effect the next test looks for really happens when nothing stops it.
    marker = tmp_path / "pwned"
    workflow = _gateway_workflow(_touch_condition(marker), PythonScriptEngine())
    workflow.do_engine_steps()
    assert marker.exists()


def test_import_in_a_condition_never_runs_under_the_restricted_engine(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    workflow = _gateway_workflow(_touch_condition(marker), script_engine())
    with pytest.raises(Exception, match="Error evaluating expression"):
        workflow.do_engine_steps()
    assert not marker.exists()
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.ERROR)] == ["gw"]


def test_a_plain_condition_still_routes() -> None:
    workflow = _gateway_workflow("amount &gt; 1000 and days_between(opened, closed) &lt; 5", script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(amount=2000, opened="2026-01-01", closed="2026-01-03")
    workflow.do_engine_steps()
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["yes"]


@pytest.mark.parametrize(
    "expression",
    [
        DUNDER_ESCAPE,
        "getattr(x, '__class__')",
        "x.__class__",
        "'{0.__class__}'.format(x)",
        "open('/etc/passwd').read()",
        "__import__('os')",
    ],
)
def test_escapes_are_blocked_in_expressions(expression: str) -> None:
    environment = script_engine().environment
    with pytest.raises((RestrictedCodeError, NameError, NotImplementedError)):
        environment.evaluate(expression, {"x": "text"})


def test_the_dunder_escape_is_blocked_in_a_script() -> None:
    context: dict[str, object] = {}
    with pytest.raises(RestrictedCodeError, match="invalid attribute name"):
        script_engine().environment.execute(f"os = {DUNDER_ESCAPE}", context)
    assert "os" not in context


def test_import_statement_in_a_script_is_blocked(tmp_path: Path) -> None:
    context: dict[str, object] = {}
    with pytest.raises(ImportError):
        script_engine().environment.execute("import os\nsecret = os.environ.get('HOME')", context)
    assert "secret" not in context
    assert lint_script("import os") is not None
    assert lint_script("from os import path") is not None


def test_ordinary_scripts_work() -> None:
    context: dict[str, object] = {"items": [3, 4, 5]}
    script = "\n".join(
        [
            "total = 0",
            "for item in items:",
            "    total += item",
            "counts = {}",
            "counts['items'] = len(items)",
            "counts['items'] = counts['items'] + 1",
            "first, second = items[0], items[1]",
            "for index, (a, b) in enumerate([(1, 2), (3, 4)]):",
            "    last_pair = a + b",
            "checked = sum(items) == total and max(items) == 5 and sorted(items, reverse=True)[0] == 5",
            "print('this goes nowhere')",
            "def double(v):",
            "    return v * 2",
            "doubled = [double(i) for i in items]",
            "span = days_between('2026-01-01', '2026-03-01')",
        ]
    )
    assert lint_script(script) is None
    script_engine().environment.execute(script, context)
    assert context["total"] == 12
    assert context["counts"] == {"items": 4}
    assert (context["first"], context["second"]) == (3, 4)
    assert context["last_pair"] == 7
    assert context["checked"] is True
    assert context["doubled"] == [6, 8, 10]
    assert context["span"] == 59
    # Functions, guards and helpers never stay in task data (they cannot be serialized).
    assert not any(callable(v) for v in context.values())
    assert not any(key.startswith("_") for key in context)


def test_task_data_that_shadows_a_helper_is_refused() -> None:
    with pytest.raises(ValueError, match="overwrites a predefined"):
        script_engine().environment.execute("x = 1", {"days_between": 3})


def test_registered_helpers_are_callable_from_expressions() -> None:
    register_helper("double_it", lambda value: value * 2)
    try:
        assert lint_expression("double_it(amount) > 10") is None
        assert script_engine().environment.evaluate("double_it(amount) > 10", {"amount": 6}) is True
    finally:
        scripting._HELPERS.pop("double_it")
    assert lint_expression("double_it(amount) > 10") is not None


def test_helper_names_must_be_safe() -> None:
    with pytest.raises(ValueError):
        register_helper("_hidden", len)
    with pytest.raises(ValueError):
        register_helper("len", len)


@pytest.mark.parametrize(
    "expression",
    [
        "approved",
        "not approved",
        "amount > 1000 and level == 'A'",
        "level in ('A', 'B') or -amount < 0",
        "items[0]['name'].lower().startswith('x')",
        "data.get('x', 0) + len(items) * 2 / 3 % 4",
        "'yes' if approved else 'no'",
        "f'PT{hours}H'",
        "{'a': 1, 'b': [1, 2]}['a'] == 1",
        "all(review['ok'] for review in reviews)",
        "items[1:3] == [1, 2]",
        "{1, 2} == {2, 1}",
        "days_between(opened, closed) <= 5",
        "sorted(scores, reverse=True)[0]",
    ],
)
def test_lint_accepts_ordinary_expressions(expression: str) -> None:
    assert lint_expression(expression) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("__import__('os').system('id') == 0", "names starting with '_'"),
        ("x.__class__", "attributes starting with '_'"),
        ("2 ** 64", "power operator"),
        ("open('f')", "cannot be called"),
        ("eval('1')", "cannot be called"),
        ("execution.getVariable('x')", "`x`, not `execution.getVariable('x')`"),
        ("'{}'.format(x)", "not allowed"),
        ("(lambda: 1)()", "only named functions"),
        ("(y := 1)", ":= operator"),
        ("f(**kwargs)", "cannot be called"),
        ("x = 1", "not a valid Python expression"),
        ("", "empty"),
        ("Vacation Approval = 'Approved'", "not a valid Python expression"),
    ],
)
def test_lint_refuses_with_a_helpful_message(expression: str, says: str) -> None:
    message = lint_expression(expression)
    assert message is not None
    assert says in message


def test_augmented_assignment_to_an_item_is_explained() -> None:
    # A RestrictedPython limit process owners will meet; the message must say what to write instead.
    message = lint_script("totals = {'x': 1}\ntotals['x'] += 1")
    assert message is not None and "totals['x'] = totals['x'] + 1" in message


def test_lint_script_reports_restricted_python_errors() -> None:
    message = lint_script("x = ().__class__")
    assert message is not None and "__class__" in message
    syntax = lint_script("for x in :\n  pass")
    assert syntax is not None and "line 1" in syntax


@pytest.fixture
def short_time_limit() -> Iterator[None]:
    scripting.set_time_limit(0.2)
    yield
    scripting.set_time_limit(Settings().script_time_limit_s)


@pytest.mark.parametrize(
    "script",
    [
        "while True:\n    pass",
        "n = 0\nwhile n >= 0:\n    n += 1",
        "def spin():\n    while True:\n        pass\nspin()",
        "x = [1 for a in range(999) for b in range(999) for c in range(999)]",
    ],
)
def test_a_runaway_script_is_stopped_at_its_time_limit(short_time_limit: None, script: str) -> None:
    context: dict[str, object] = {}
    began = time.monotonic()
    with pytest.raises(ScriptTimeLimitError, match=r"limit of 0\.2 s"):
        script_engine().environment.execute(script, context)
    assert time.monotonic() - began < 2
    # The tracer is gone once the script stopped: nothing else is slowed or interrupted.
    assert sys.gettrace() is None


def test_a_runaway_condition_is_stopped_too(short_time_limit: None) -> None:
    with pytest.raises(ScriptTimeLimitError):
        script_engine().environment.evaluate(
            "any(a + b + c < 0 for a in range(999) for b in range(999) for c in range(999))", {}
        )


def test_a_runaway_script_task_fails_its_step_not_the_worker(short_time_limit: None) -> None:
    """Through the runtime: the instance stops in error at the script task, with the reason, and the call returns."""
    xml = linear_process("spin", script="n = 0\nwhile True:\n    n += 1")
    [compiled] = catalog.compile_definitions([catalog.SourceFile("spin.bpmn", xml.encode())], allow_scripts=True)
    run = ProcessRun.start(bundle_for(1, compiled.spec_json), {}, now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    assert run.status == "error"
    assert run.error is not None and run.error.bpmn_id == "Script_1"
    assert "limit of 0.2 s" in str(run.error)


def test_ordinary_scripts_finish_under_the_budget() -> None:
    context: dict[str, object] = {}
    script_engine().environment.execute("total = 0\nfor i in range(999):\n    total += i", context)
    assert context["total"] == 498501
