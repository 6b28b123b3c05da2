"""Spec stored once per definition version, state stored per instance, both as tagged JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

LIBRARY = "SpiffWorkflow-3.2.0"


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Leaves the spec out of the instance state; it is restored from the version's cached spec."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct.update(
            spec_name=workflow.spec.name,
            subprocesses=self.mapping_to_dict(workflow.subprocesses),
            bpmn_events=self.registry.convert(workflow.bpmn_events),
        )
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        # Already-built spec objects pass through registry.restore() untouched.
        return super().from_dict(dict(dct, spec=spec, subprocess_specs=subprocess_specs or {}))


def _registry() -> Any:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Types Spiff cannot store by itself; without these saving fails after the step already ran.
    registry.register(dt.date, lambda v: {"value": v.isoformat()}, lambda d: dt.date.fromisoformat(d["value"]))
    registry.register(decimal.Decimal, lambda v: {"value": str(v)}, lambda d: decimal.Decimal(d["value"]))
    return registry


_SERIALIZER = BpmnWorkflowSerializer(_registry())
FORMAT = f"{_SERIALIZER.VERSION}/state-only"


@dataclass(frozen=True)
class SpecBundle:
    """A parsed, read-only process spec with the specs of everything it calls."""

    key: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, Any]


def registry() -> Any:
    """The converter registry (SpiffWorkflow's spec comparison serializes specs with it)."""
    return _SERIALIZER.registry


def dump_spec(key: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, Any]) -> str:
    """The JSON stored once per definition version."""
    return json.dumps(
        {
            "format": FORMAT,
            "key": key,
            "spec": _SERIALIZER.to_dict(spec),
            "subprocess_specs": {k: _SERIALIZER.to_dict(v) for k, v in subprocess_specs.items()},
        },
        cls=_SERIALIZER._encoder_cls,
    )


def load_spec(spec_json: str) -> SpecBundle:
    """Restore a version's spec; callers cache the result (it is read-only)."""
    dct = json.loads(spec_json)
    spec = _SERIALIZER.from_dict(dct["spec"])
    subs = {k: _SERIALIZER.from_dict(v) for k, v in dct["subprocess_specs"].items()}
    return SpecBundle(key=dct["key"], spec=spec, subprocess_specs=subs)


def dump_state(workflow: BpmnWorkflow) -> str:
    """The per-instance state JSON (no spec)."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(workflow)
        dct["format"] = FORMAT
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load_state(bundle: SpecBundle, state_json: str) -> BpmnWorkflow:
    """Rebuild a workflow from its state and its pinned version's spec."""
    dct = json.loads(state_json)
    fmt = dct.pop("format", None)
    if fmt != FORMAT:
        raise ValueError(f"instance state has format {fmt!r}, this engine reads {FORMAT!r}")
    return _SERIALIZER.from_dict(dct, spec=bundle.spec, subprocess_specs=bundle.subprocess_specs)  # type: ignore[no-any-return]
