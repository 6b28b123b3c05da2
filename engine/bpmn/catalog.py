"""Deploy-time compilation: parse, validate, normalise and lint uploaded BPMN/DMN files into stored process specs."""

from __future__ import annotations

import codecs
import copy
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins import (
    ManualTaskMixin,
    NoneTaskMixin,
    ScriptTaskMixin,
    ServiceTaskMixin,
    UserTaskMixin,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bpmn.expressions import TimerText, check_duration, is_foreign, normalise_timer, python_expression
from engine.bpmn.scripting import lint_expression, lint_script
from engine.bpmn.serializer import dump_spec
from engine.domain.errors import InvalidProcessError, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
FORM_KEY_NAMESPACES = (CAMUNDA_NS, "http://flowable.org/bpmn", "http://activiti.org/bpmn")
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS, "zeebe": ZEEBE_NS}
_NS_PREFIXES = {BPMN_NS: "bpmn", SPIFF_NS: "spiffworkflow", **{ns: "dmn" for ns in DMN_SCHEMAS}}

_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_HUMAN_MIXINS = (UserTaskMixin, ManualTaskMixin, NoneTaskMixin)
_PYTHON_SCRIPT_FORMATS = {"", "python", "py", "python3", "text/python", "text/x-python", "application/x-python"}
_MAX_SCHEMA_PROBLEMS = 50

# (XPath relative to the definitions element, what a process owner calls it)
_EXPRESSION_SLOTS: tuple[tuple[str, str], ...] = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "Condition"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "Loop cardinality"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", "Completion condition"),
    (".//bpmn:adHocSubProcess/bpmn:completionCondition", "Completion condition"),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "Loop condition"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "Event condition"),
    (".//spiffworkflow:messagePayload", "Message payload"),
    (".//spiffworkflow:payloadExpression", "Payload expression"),
    (".//spiffworkflow:processVariableCorrelation/spiffworkflow:expression", "Correlation expression"),
    (".//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression", "Correlation expression"),
    (".//bpmn:correlationPropertyRetrievalExpression/bpmn:messagePath", "Correlation expression"),
)
_TIMER_XPATH = ".//bpmn:timerEventDefinition/*[self::bpmn:timeDate or self::bpmn:timeDuration or self::bpmn:timeCycle]"

_schema_lock = threading.Lock()  # an XMLSchema keeps its error log on itself, so validations must not interleave
_dmn_validators: dict[str, BpmnValidator] = {}


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class TaskProperties:
    bpmn_id: str
    name: str
    lane: str | None
    documentation: str | None
    form: str | None
    time_limit: str | None
    required_documents: tuple[str, ...]
    assignee_field: str | None = None  # `assignee` property: the data field naming the person it goes to
    status: str | None = None  # `status` property: what the business record (case, topic) shows while it is open
    record: str | None = None  # `record` property: the named recorder that files this step's data on completion


@dataclass(frozen=True)
class CompiledProcess:
    key: str
    name: str
    spec_json: str
    content_hash: str
    source_name: str
    has_scripts: bool
    human_tasks: dict[str, TaskProperties]
    start_timer: str | None
    messages: tuple[str, ...]


@dataclass
class _Document:
    """One parsed file; `root` is the normalised working copy, the uploaded bytes stay untouched."""

    source: SourceFile
    root: Any
    is_dmn: bool
    from_library: bool
    is_sound: bool = True
    start_timers: dict[str, str] = field(default_factory=dict)
    skipped_slots: set[Any] = field(default_factory=set)
    _lines: dict[str, int] | None = None

    @property
    def name(self) -> str:
        return self.source.name

    def line_of(self, element_id: str | None) -> int | None:
        if not element_id:
            return None
        if self._lines is None:
            self._lines = {}
            for element in self.root.iter():
                key = element.get("id") if isinstance(element.tag, str) else None
                if key is not None:
                    self._lines.setdefault(key, element.sourceline)
        return self._lines.get(element_id)

    def process_ids(self) -> list[str]:
        return [p.get("id") for p in self.root.xpath("./bpmn:process", namespaces=NS) if p.get("id")]

    def decision_ids(self) -> list[str]:
        return [d.get("id") for d in self.root.iter(f"{{{self.namespace}}}decision") if d.get("id")]

    @property
    def namespace(self) -> str:
        return etree.QName(self.root).namespace or ""


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(
        self, message: str, file: str | None = None, line: int | None = None, element_id: str | None = None
    ) -> None:
        self.items.append(Problem(message=message, file=file, line=line, element_id=element_id))

    def at(self, doc: _Document, element: Any, message: str) -> None:
        owner = _owner(element)
        element_id = owner.get("id") if owner is not None else None
        self.add(message, doc.name, element.sourceline, element_id)


def compile_definitions(
    files: Sequence[SourceFile],
    *,
    library: Sequence[SourceFile] = (),
    allow_scripts: bool,
    max_bytes: int = 2_000_000,
) -> list[CompiledProcess]:
    """Validate and compile every executable process in `files`; raise InvalidProcessError listing all problems."""
    try:
        return _compile(files, library, allow_scripts, max_bytes)
    except InvalidProcessError:
        raise
    except Exception as exc:  # the contract: nothing but InvalidProcessError leaves a deploy
        names = ", ".join(f.name for f in files) or None
        raise InvalidProcessError(
            [Problem(f"The upload could not be processed ({type(exc).__name__}: {exc}). Check the diagram.", names)]
        ) from exc


def _compile(
    files: Sequence[SourceFile], library: Sequence[SourceFile], allow_scripts: bool, max_bytes: int
) -> list[CompiledProcess]:
    problems = _Problems()
    if not files:
        raise InvalidProcessError([Problem("No file was uploaded.")])
    seen_names: set[str] = set()
    docs: list[_Document] = []
    for source in files:
        if source.name in seen_names:
            problems.add("Two uploaded files have this name; upload each file once.", source.name)
            continue
        seen_names.add(source.name)
        if len(source.content) > max_bytes:
            problems.add(
                f"The file is {len(source.content):,} bytes; the limit is {max_bytes:,}. "
                "Split it into smaller diagrams or remove embedded images.",
                source.name,
            )
            continue
        doc = _read(source, problems, from_library=False)
        if doc is not None:
            docs.append(doc)
    if not docs:
        raise InvalidProcessError(problems.items)

    for doc in docs:
        _validate_schema(doc, problems)
        if doc.is_sound and not doc.is_dmn:
            _check_references(doc, problems)
    library_docs = _library_documents(docs, library)
    for doc in [*docs, *library_docs]:
        if not doc.is_dmn:
            _normalise(doc, problems, report=not doc.from_library)

    missing = _missing_references([*docs, *library_docs], problems)
    parsed: dict[str, tuple[Any, dict[str, Any]]] = {}
    if all(doc.is_sound for doc in docs):
        parsed = _parse_with_spiff(docs, library_docs, missing, problems)

    for doc in docs:
        _lint(doc, problems, allow_scripts)
    for doc in docs:
        _require_executable(doc, problems)

    if problems.items:
        raise InvalidProcessError(problems.items)
    return _assemble(docs, library_docs, parsed, problems)


# --- 2. XML --------------------------------------------------------------------------------------------------------

_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _as_text(content: bytes) -> str:
    """Enough of a decoding to find markup: wide encodings by their BOM, everything else byte for byte."""
    for bom in _WIDE_BOMS:
        if content.startswith(bom):
            encoding = "utf-32" if len(bom) == 4 else "utf-16"
            return content.decode(encoding, errors="replace")
    return content.decode("latin-1")


def _secure_parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _read(source: SourceFile, problems: _Problems, *, from_library: bool) -> _Document | None:
    text = _as_text(source.content)
    match = _DTD.search(text)
    first_element = _FIRST_ELEMENT.search(text)
    # A declaration can only precede the root element; later matches are text (e.g. in CDATA) and harmless.
    if match and (first_element is None or match.start() < first_element.start()):
        line = text.count("\n", 0, match.start()) + 1
        problems.add(
            "The file contains a DOCTYPE or ENTITY declaration, which is refused for security. "
            "Remove it; BPMN and DMN files never need one.",
            source.name,
            line,
        )
        return None
    try:
        root = etree.fromstring(source.content, _secure_parser())
    except etree.XMLSyntaxError as exc:
        problems.add(
            f"The file is not well-formed XML: {exc.msg}. Re-export it from the modeler or fix this line.",
            source.name,
            exc.lineno,
        )
        return None
    if root.getroottree().docinfo.doctype:
        problems.add("The file declares a DOCTYPE, which is refused for security. Remove it.", source.name, 1)
        return None
    namespace = etree.QName(root).namespace
    local = etree.QName(root).localname
    if local == "definitions" and namespace in DMN_SCHEMAS:
        return _Document(source, root, is_dmn=True, from_library=from_library)
    if local == "definitions" and namespace == BPMN_NS:
        if source.name.lower().endswith(".dmn"):
            problems.add("The file is named .dmn but holds a BPMN diagram; rename it to .bpmn.", source.name, 1)
        return _Document(source, root, is_dmn=False, from_library=from_library)
    if local == "definitions" and namespace and "DMN" in namespace.upper():
        problems.add(
            f"This DMN version ({namespace}) is not supported; save the decision as DMN 1.1, 1.2 or 1.3.",
            source.name,
            root.sourceline,
        )
        return None
    problems.add(
        f"This is not a BPMN 2.0 or DMN file: the root element is <{local}> in namespace {namespace or 'none'}. "
        "Export the diagram as BPMN 2.0 XML.",
        source.name,
        root.sourceline,
    )
    return None


# --- 3. XSD --------------------------------------------------------------------------------------------------------


def _readable(message: str) -> str:
    def prefix(match: re.Match[str]) -> str:
        return _NS_PREFIXES.get(match.group(1), "") + ":" if match.group(1) in _NS_PREFIXES else match.group(0)

    return re.sub(r"\{([^}]*)\}", prefix, message).rstrip(".")


def _schema_for(doc: _Document) -> Any:
    if not doc.is_dmn:
        return VALIDATOR
    namespace = doc.namespace
    with _schema_lock:
        if namespace not in _dmn_validators:
            _dmn_validators[namespace] = BpmnValidator(DMN_SCHEMAS[namespace])
        return _dmn_validators[namespace]


def _validate_schema(doc: _Document, problems: _Problems) -> None:
    validator = _schema_for(doc)
    checked = copy.deepcopy(doc.root)
    # The library's own fix-up for what bpmn-js writes in correlation properties, applied to a throwaway copy.
    validator.preprocess(checked)
    with _schema_lock:
        is_valid = validator.validator.validate(checked)
        errors = [(e.line, e.message) for e in validator.validator.error_log] if not is_valid else []
    if is_valid:
        return
    doc.is_sound = False
    kind = "DMN" if doc.is_dmn else "BPMN 2.0"
    by_line = _ids_by_line(doc)
    for line, message in errors[:_MAX_SCHEMA_PROBLEMS]:
        problems.add(
            f"The file does not follow the {kind} schema: {_readable(message)}. "
            "Fix this element, or re-export the diagram from a standard modeler.",
            doc.name,
            line,
            by_line.get(line),
        )
    if len(errors) > _MAX_SCHEMA_PROBLEMS:
        problems.add(f"{len(errors) - _MAX_SCHEMA_PROBLEMS} more schema problems are not listed.", doc.name)


def _check_references(doc: _Document, problems: _Problems) -> None:
    """References the schema cannot check and the library reports misleadingly ("perhaps a form has the same ID?")."""
    before = len(problems.items)
    for container in doc.root.xpath(".//bpmn:process|.//bpmn:subProcess|.//bpmn:transaction", namespaces=NS):
        ids = {e.get("id") for e in container if isinstance(e.tag, str) and e.get("id")}
        for flow in container.xpath("./bpmn:sequenceFlow", namespaces=NS):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    problems.add(
                        f"The {_describe(flow)} {'starts' if end == 'sourceRef' else 'ends'} at '{flow.get(end)}', "
                        f"which is not an element of {_describe(container)}; reconnect it in the modeler.",
                        doc.name, flow.sourceline, flow.get("id"),
                    )  # fmt: skip
        for event in container.xpath("./bpmn:boundaryEvent", namespaces=NS):
            if event.get("attachedToRef") not in ids:
                problems.add(
                    f"The {_describe(event)} is attached to '{event.get('attachedToRef')}', which is not an element "
                    f"of {_describe(container)}; attach it to a task in the modeler.",
                    doc.name, event.sourceline, event.get("id"),
                )  # fmt: skip
        for gateway in container.xpath("./*[@default]", namespaces=NS):
            flow_ids = {f.get("id") for f in container.xpath("./bpmn:sequenceFlow", namespaces=NS)}
            if gateway.get("default") not in flow_ids:
                problems.add(
                    f"The default flow '{gateway.get('default')}' of {_describe(gateway)} does not exist; "
                    "choose the default flow again in the modeler.",
                    doc.name, gateway.sourceline, gateway.get("id"),
                )  # fmt: skip
    if len(problems.items) > before:
        doc.is_sound = False


def _ids_by_line(doc: _Document) -> dict[int, str]:
    found: dict[int, str] = {}
    for element in doc.root.iter():
        if isinstance(element.tag, str) and element.get("id") and element.sourceline not in found:
            found[element.sourceline] = element.get("id")
    return found


# --- library: only what the upload calls --------------------------------------------------------------------------


def _calls(root: Any) -> set[str]:
    return {c.get("calledElement") for c in root.xpath(".//bpmn:callActivity", namespaces=NS) if c.get("calledElement")}


def _decision_ref(task: Any) -> str | None:
    spiff = task.xpath("./bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
    if spiff and (spiff[0].text or "").strip():
        return str(spiff[0].text.strip())
    ref = task.get(f"{{{CAMUNDA_NS}}}decisionRef")
    if ref:
        return str(ref)
    zeebe = task.xpath("./bpmn:extensionElements/zeebe:calledDecision/@decisionId", namespaces=NS)
    return str(zeebe[0]) if zeebe and zeebe[0] else None


def _decisions(root: Any) -> set[str]:
    refs = (_decision_ref(t) for t in root.xpath(".//bpmn:businessRuleTask", namespaces=NS))
    return {r for r in refs if r}


def _library_documents(docs: list[_Document], library: Sequence[SourceFile]) -> list[_Document]:
    """The deployed files the upload needs, following calls transitively; the rest of the library is never parsed."""
    process_ids = {pid for doc in docs if not doc.is_dmn for pid in doc.process_ids()}
    decision_ids = {did for doc in docs if doc.is_dmn for did in doc.decision_ids()}
    wanted_processes = {c for doc in docs if not doc.is_dmn for c in _calls(doc.root)} - process_ids
    wanted_decisions = {d for doc in docs if not doc.is_dmn for d in _decisions(doc.root)} - decision_ids
    uploaded_names = {doc.name for doc in docs}
    remaining = [f for f in library if f.name not in uploaded_names]
    read: dict[str, _Document | None] = {}
    chosen: list[_Document] = []
    progress = True
    while (wanted_processes or wanted_decisions) and progress:
        progress = False
        for source in list(remaining):
            wanted = wanted_processes | wanted_decisions
            # A cheap byte search first: the library may be large and most files are irrelevant.
            if not any(w.encode() in source.content for w in wanted):
                continue
            if source.name not in read:
                # Library files passed these checks when deployed; one that no longer reads is simply not used,
                # and the reference it should have satisfied is reported as missing.
                read[source.name] = _read(source, _Problems(), from_library=True)
            doc = read[source.name]
            if doc is None:
                remaining.remove(source)
                continue
            provides = (set(doc.decision_ids()) & wanted_decisions) if doc.is_dmn else (
                set(doc.process_ids()) & wanted_processes
            )  # fmt: skip
            if not provides:
                continue
            remaining.remove(source)
            if doc.is_dmn:
                decision_ids.update(doc.decision_ids())
            else:
                # The upload replaces older copies of the same process; the parser refuses duplicate ids.
                for process in doc.root.xpath("./bpmn:process", namespaces=NS):
                    if process.get("id") in process_ids:
                        doc.root.remove(process)
                process_ids.update(doc.process_ids())
                wanted_processes |= _calls(doc.root) - process_ids
                wanted_decisions |= _decisions(doc.root) - decision_ids
            wanted_processes -= process_ids
            wanted_decisions -= decision_ids
            chosen.append(doc)
            progress = True
    return chosen


# --- 4. normalisation -----------------------------------------------------------------------------------------------


def _owner(element: Any) -> Any:
    """The nearest ancestor a process owner can click on in the modeler (an event, not its event definition)."""
    node = element.getparent()
    while node is not None and (not node.get("id") or _is_detail(node)):
        node = node.getparent()
    return node


def _is_detail(element: Any) -> bool:
    local: str = etree.QName(element).localname
    return local.endswith(("EventDefinition", "LoopCharacteristics")) or local == "extensionElements"


def _describe(element: Any) -> str:
    if element is None:
        return "the diagram"
    words = re.sub(r"(?<!^)([A-Z])", r" \1", etree.QName(element).localname).lower()
    label = " ".join((element.get("name") or element.get("id") or "").split())
    return f"{words} '{label}'"


def _where(element: Any, what: str) -> str:
    return f"{what} on {_describe(_owner(element))}"


def _normalise(doc: _Document, problems: _Problems, *, report: bool) -> None:
    sink = problems if report else _Problems()
    _move_message_payloads(doc.root)
    _adopt_foreign_decision_refs(doc.root)
    _extract_start_timers(doc, sink)
    for definition in doc.root.xpath(
        ".//bpmn:timerEventDefinition[not(bpmn:timeDate|bpmn:timeDuration|bpmn:timeCycle)]", namespaces=NS
    ):
        sink.at(
            doc,
            definition,
            f"{_where(definition, 'Timer')}: the timer has no value; give it a duration (PT48H), "
            "a date (2026-12-01T09:00:00+08:00) or a cycle (R3/PT1H).",
        )
    for element in doc.root.xpath(_TIMER_XPATH, namespaces=NS):
        if element in doc.skipped_slots:
            continue
        kind = etree.QName(element).localname
        timer = normalise_timer(kind, element.text)
        if timer.problem:
            sink.at(doc, element, f"{_where(element, 'Timer')}: {timer.problem}")
            doc.skipped_slots.add(element)
            continue
        element.text = timer.expression
        if timer.literal is not None:
            doc.skipped_slots.add(element)  # a fixed value was checked here; nothing left to lint
    for xpath, what in _EXPRESSION_SLOTS:
        for element in doc.root.xpath(xpath, namespaces=NS):
            if not is_foreign(element.text):
                continue
            translated = python_expression(element.text)
            if translated.python is None:
                sink.at(doc, element, f"{_where(element, what)}: {translated.problem}")
                doc.skipped_slots.add(element)
            else:
                element.text = translated.python


def _move_message_payloads(root: Any) -> None:
    # The parser warns (DeprecationWarning) when these sit on bpmn:message; each event that uses the message
    # gets its own copy instead, which the parser reads the same way.
    for message in root.xpath(".//bpmn:message", namespaces=NS):
        moved = message.xpath(
            "./bpmn:extensionElements/spiffworkflow:messagePayload|./bpmn:extensionElements/spiffworkflow:messageVariable",
            namespaces=NS,
        )
        if not moved:
            continue
        users = root.xpath(
            ".//*[@messageRef=$ref]"
            "[self::bpmn:messageEventDefinition or self::bpmn:sendTask or self::bpmn:receiveTask]",
            ref=message.get("id"),
            namespaces=NS,
        )
        for user in users:
            if user.xpath(".//spiffworkflow:messagePayload|.//spiffworkflow:messageVariable", namespaces=NS):
                continue
            _extension_elements(user).extend(copy.deepcopy(item) for item in moved)
        for item in moved:
            item.getparent().remove(item)


def _extension_elements(element: Any) -> Any:
    found = element.find(f"{{{BPMN_NS}}}extensionElements")
    if found is None:
        found = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        documentation = element.findall(f"{{{BPMN_NS}}}documentation")
        element.insert(len(documentation), found)
    return found


def _adopt_foreign_decision_refs(root: Any) -> None:
    # Camunda 7 (camunda:decisionRef) and 8 (zeebe:calledDecision) name the decision where the parser does not look.
    for task in root.xpath(".//bpmn:businessRuleTask", namespaces=NS):
        if task.xpath("./bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS):
            continue
        ref = _decision_ref(task)
        if ref:
            called = etree.SubElement(_extension_elements(task), f"{{{SPIFF_NS}}}calledDecisionId")
            called.text = ref


def _extract_start_timers(doc: _Document, problems: _Problems) -> None:
    for process in doc.root.xpath("./bpmn:process", namespaces=NS):
        timers = process.xpath("./bpmn:startEvent/bpmn:timerEventDefinition", namespaces=NS)
        if len(timers) > 1:
            problems.at(
                doc,
                timers[1],
                f"{_describe(process)} has {len(timers)} timer start events; keep one and start the others "
                "from a separate process.",
            )
        for definition in timers:
            slots = [
                child
                for child in definition
                if isinstance(child.tag, str) and child.tag != f"{{{BPMN_NS}}}documentation"
            ]
            value = slots[0] if slots else None
            if value is None or etree.QName(value).namespace != BPMN_NS:
                problems.at(doc, definition, f"{_where(definition, 'Timer')}: the timer start event has no value.")
                continue
            timer = normalise_timer(etree.QName(value).localname, value.text)
            if timer.problem is None and timer.literal is None:
                timer = TimerText(
                    expression=None,
                    problem="a timer start event needs a fixed ISO 8601 value such as R/P1D or "
                    "2026-12-01T09:00:00+08:00, because no instance data exists before the process starts.",
                )
            if timer.problem:
                problems.at(doc, value, f"{_where(value, 'Timer')}: {timer.problem}")
            elif timer.literal is not None and process.get("id") not in doc.start_timers:
                doc.start_timers[process.get("id")] = timer.literal
            # The engine schedules instances itself; left in place the library would make every instance wait.
            doc.skipped_slots.add(value)
            definition.getparent().remove(definition)


# --- 5. the workflow library's own parse ---------------------------------------------------------------------------


def _parse_with_spiff(
    docs: list[_Document], library_docs: list[_Document], missing: set[str], problems: _Problems
) -> dict[str, tuple[Any, dict[str, Any]]]:
    all_docs = [*docs, *library_docs]
    by_name = {doc.name: doc for doc in all_docs}
    parser = SpiffBpmnParser()  # a parser is single-use: re-adding a process id raises
    refused: set[str] = set()
    for doc in all_docs:
        try:
            if doc.is_dmn:
                parser.add_dmn_xml(doc.root, filename=doc.name)
            else:
                parser.add_bpmn_xml(doc.root, filename=doc.name)
        except Exception as exc:  # the library raises many types here
            _library_problem(exc, doc, by_name, problems)
            refused.add(doc.name)
    for dmn_parser in list(parser.dmn_parsers.values()):
        dmn_doc = by_name.get(dmn_parser.filename)
        if dmn_doc is None or dmn_doc.from_library:
            continue
        try:
            dmn_parser.parse()  # decisions are otherwise parsed only when a task first uses them
        except Exception as exc:  # the library raises many types here
            _library_problem(exc, dmn_doc, by_name, problems)

    parsed: dict[str, tuple[Any, dict[str, Any]]] = {}
    for doc in docs:
        if doc.is_dmn or doc.name in refused:
            continue  # its processes were never registered; the reason is already reported
        for key in _executable_ids(doc):
            if key in missing:
                continue  # already reported against the call activity or business rule task
            try:
                spec = parser.get_spec(key)
                subprocess_specs = parser.get_subprocess_specs(key)
            except Exception as exc:  # the library raises many types here
                _library_problem(exc, doc, by_name, problems)
                continue
            parsed[key] = (spec, subprocess_specs)
    return parsed


def _missing_references(docs: list[_Document], problems: _Problems) -> set[str]:
    """Report call activities and business rule tasks that point nowhere; return the processes that cannot run."""
    process_ids = {pid for doc in docs if not doc.is_dmn for pid in doc.process_ids()}
    executable = {pid for doc in docs if not doc.is_dmn for pid in _executable_ids(doc)}
    decision_ids = {did for doc in docs if doc.is_dmn for did in doc.decision_ids()}
    calls: dict[str, set[str]] = {}
    broken: set[str] = set()
    for doc in docs:
        if doc.is_dmn:
            continue
        for process in doc.root.xpath("./bpmn:process", namespaces=NS):
            pid = process.get("id")
            calls[pid] = set()
            for call in process.xpath(".//bpmn:callActivity", namespaces=NS):
                target = call.get("calledElement")
                if not target:
                    problems.add(
                        f"The {_describe(call)} does not say which process it calls; choose the called process.",
                        doc.name, call.sourceline, call.get("id"),
                    )  # fmt: skip
                    broken.add(pid)
                elif target not in process_ids:
                    problems.add(
                        f"The {_describe(call)} calls the process '{target}', which is not deployed. Upload the "
                        f"diagram that defines '{target}' together with this one, or deploy it first.",
                        doc.name, call.sourceline, call.get("id"),
                    )  # fmt: skip
                    broken.add(pid)
                elif target not in executable:
                    problems.add(
                        f"The {_describe(call)} calls the process '{target}', which is not executable; mark that "
                        'process as executable (isExecutable="true") and deploy it again.',
                        doc.name, call.sourceline, call.get("id"),
                    )  # fmt: skip
                    broken.add(pid)
                else:
                    calls[pid].add(target)
            for task in process.xpath(".//bpmn:businessRuleTask", namespaces=NS):
                ref = _decision_ref(task)
                if not ref:
                    problems.add(
                        f"The {_describe(task)} does not say which decision it evaluates; "
                        "set its called decision id.",
                        doc.name, task.sourceline, task.get("id"),
                    )  # fmt: skip
                    broken.add(pid)
                elif ref not in decision_ids:
                    problems.add(
                        f"The {_describe(task)} uses the decision '{ref}', which is not deployed. Upload the .dmn "
                        "file that defines it together with this diagram, or deploy it first.",
                        doc.name, task.sourceline, task.get("id"),
                    )  # fmt: skip
                    broken.add(pid)
    # A process that calls a broken one cannot run either.
    changed = True
    while changed:
        changed = False
        for pid, targets in calls.items():
            if pid not in broken and targets & broken:
                broken.add(pid)
                changed = True
    return broken


# What the library says, in words a process owner can act on.
_LIBRARY_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^Multiple outgoing flows are not supported for tasks of type$"),
        "it has more than one outgoing flow; add a parallel gateway (all paths) or an exclusive gateway "
        "(one path) after it",
    ),
    (
        re.compile(r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)\.?$"),
        r"a subprocess needs exactly one start event (found \1); add a start event inside it",
    ),
    (
        re.compile(r"^A Service Task must have an operator$"),
        "the service task names no connector; pick the connector to call in the modeler",
    ),
)
_ELEMENT_REPR = re.compile(r"<Element \{([^}]*)\}(\w+) at 0x[0-9a-f]+>")
_DATA_STORE = re.compile(r"Data Store with name (.*) has no implementation", re.DOTALL)


def _library_problem(exc: Exception, doc: _Document, by_name: dict[str, _Document], problems: _Problems) -> None:
    if isinstance(exc, ValidationException):
        where: _Document = by_name.get(exc.file_name or "") or doc
        element_id = exc.id or None
        if element_id and any(p.file == where.name and p.element_id == element_id for p in problems.items):
            return  # the library stumbled on something already explained in plainer words
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else where.line_of(element_id)
        detail = _ELEMENT_REPR.sub(lambda m: f"{_NS_PREFIXES.get(m.group(1), '')}:{m.group(2)}", str(exc.args[0]))
        store = _DATA_STORE.fullmatch(detail)
        if store:
            name = store.group(1)
            found = where.root.xpath(".//bpmn:dataStore[@name=$name]", name=name, namespaces=NS)
            element_id = found[0].get("id") if found else None
            line = found[0].sourceline if found else None
            detail = (
                f"The data store '{' '.join(name.split())}' has no implementation in this engine; "
                "remove it and keep the data in process variables."
            )
        association = re.match(r"Cannot resolve data(Input|Output)Association", detail)
        if association and element_id:
            side = "sourceRef" if association.group(1) == "Input" else "targetRef"
            refs = where.root.xpath(
                f".//*[@id=$id]/bpmn:data{association.group(1)}Association/bpmn:{side}", id=element_id, namespaces=NS
            )
            names = ", ".join(f"'{r.text}'" for r in refs) or "nothing"
            detail = (
                f"a data association points at {names}, which is not a data object or data store of this "
                "process (the engine cannot read process data inputs here); connect it to a data object in the "
                "same pool or remove it"
            )
        for pattern, plain in _LIBRARY_WORDING:
            detail = pattern.sub(plain, detail)
        label = " ".join((exc.name or element_id or "").split())
        named = f"{exc.tag} '{label}': " if element_id and exc.tag and not store else ""
        problems.add(f"{named}{detail}", where.name, line, element_id)
        return
    problems.add(
        f"The workflow library could not read this diagram ({type(exc).__name__}: {exc}). "
        "Check the element types it uses against docs/conformance.md.",
        doc.name,
    )


def _executable_ids(doc: _Document) -> list[str]:
    return [
        p.get("id")
        for p in doc.root.xpath("./bpmn:process", namespaces=NS)
        if p.get("id") and p.get("isExecutable", "true") == "true"
    ]


# --- 6. lint -------------------------------------------------------------------------------------------------------


def _lint(doc: _Document, problems: _Problems, allow_scripts: bool) -> None:
    if doc.is_dmn:
        _lint_dmn(doc, problems)
        return
    for xpath, what in (*_EXPRESSION_SLOTS, (_TIMER_XPATH, "Timer")):
        for element in doc.root.xpath(xpath, namespaces=NS):
            if element in doc.skipped_slots or not (element.text or "").strip():
                continue
            if problem := lint_expression(element.text):
                problems.at(doc, element, f"{_where(element, what)}: {problem}")
    for parameter in doc.root.xpath(".//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter", namespaces=NS):
        value = parameter.get("value")
        if value and (problem := lint_expression(value)):
            problems.at(doc, parameter, f"{_where(parameter, 'Parameter ' + repr(parameter.get('id')))}: {problem}")
    _lint_scripts(doc, problems, allow_scripts)
    for element in doc.root.xpath(".//bpmn:*[@id]", namespaces=NS):
        limit = _properties(element).get("timeLimit")
        if limit is not None and (problem := check_duration(limit.strip())):
            problems.add(
                f"The time limit of {_describe(element)} is not valid: {problem}",
                doc.name, element.sourceline, element.get("id"),
            )  # fmt: skip


def _lint_scripts(doc: _Document, problems: _Problems, allow_scripts: bool) -> None:
    admin_only = "only an admin may deploy a diagram with scripts; ask an administrator to deploy it"
    for task in doc.root.xpath(".//bpmn:scriptTask", namespaces=NS):
        if not allow_scripts:
            problems.add(
                f"The {_describe(task)} contains a script: {admin_only}, or use a user task instead.",
                doc.name, task.sourceline, task.get("id"),
            )  # fmt: skip
            continue
        script_format = (task.get("scriptFormat") or "").strip().lower()
        if script_format not in _PYTHON_SCRIPT_FORMATS:
            problems.add(
                f"The {_describe(task)} is written in '{task.get('scriptFormat')}'; only Python scripts can run.",
                doc.name, task.sourceline, task.get("id"),
            )  # fmt: skip
            continue
        for script in task.xpath("./bpmn:script", namespaces=NS):
            if problem := lint_script(script.text or ""):
                problems.at(doc, script, f"Script of {_describe(task)}: {problem}")
    for script in doc.root.xpath(".//spiffworkflow:preScript|.//spiffworkflow:postScript", namespaces=NS):
        if not (script.text or "").strip():
            continue
        what = "pre-script" if etree.QName(script).localname == "preScript" else "post-script"
        if not allow_scripts:
            problems.at(doc, script, f"The {_describe(_owner(script))} has a {what}: {admin_only}.")
        elif problem := lint_script(script.text):
            problems.at(doc, script, f"The {what} of {_describe(_owner(script))}: {problem}")
    if not allow_scripts:
        for task in doc.root.xpath(".//bpmn:serviceTask", namespaces=NS):
            problems.add(
                f"The {_describe(task)} calls a service: only an admin may deploy a diagram with service tasks; "
                "ask an administrator to deploy it.",
                doc.name, task.sourceline, task.get("id"),
            )  # fmt: skip


# DMN's `?` stands for the input value; the library rewrites it outside quotes exactly like this.
_DMN_PLACEHOLDER = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def _lint_dmn(doc: _Document, problems: _Problems) -> None:
    ns = {"dmn": doc.namespace}
    for text in doc.root.xpath(".//dmn:inputExpression/dmn:text|.//dmn:outputEntry/dmn:text", namespaces=ns):
        if (text.text or "").strip() and (problem := lint_expression(text.text)):
            problems.at(doc, text, f"Decision cell in {_describe(_owner(text))}: {problem}")
    for text in doc.root.xpath(".//dmn:inputEntry/dmn:text", namespaces=ns):
        if problem := _lint_input_entry(text.text or ""):
            problems.at(doc, text, f"Decision cell in {_describe(_owner(text))}: {problem}")


def _lint_input_entry(entry: str) -> str | None:
    text = entry.strip()
    if not text or text == "-":
        return None
    replaced = _DMN_PLACEHOLDER.sub("dmninputexpr", text)
    if replaced != text:
        return lint_expression(replaced)
    # The library compares with == when the cell is a whole expression, else prefixes the input ("> 1000").
    if lint_expression(text) is None:
        return None
    prefixed = lint_expression(f"dmninputexpr {text}")
    return None if prefixed is None else lint_expression(text)


# --- 7. something to run -------------------------------------------------------------------------------------------


def _require_executable(doc: _Document, problems: _Problems) -> None:
    if doc.is_dmn:
        return
    processes = doc.root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        problems.add(
            "The file defines no process; draw the process (not only a collaboration) and deploy again.", doc.name
        )
        return
    if not _executable_ids(doc):
        names = ", ".join(f"'{p.get('name') or p.get('id')}' ({p.get('id')})" for p in processes)
        problems.add(
            f"No process in this file is executable: {names}. Mark the process to deploy as executable "
            '(isExecutable="true", the "Executable" box in the modeler).',
            doc.name,
            processes[0].sourceline,
            processes[0].get("id"),
        )


# --- result --------------------------------------------------------------------------------------------------------


def _properties(element: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for xpath in (
        "./bpmn:extensionElements/camunda:properties/camunda:property",
        "./bpmn:extensionElements/zeebe:properties/zeebe:property",
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",  # last: Spiff's own wins
    ):
        for prop in element.xpath(xpath, namespaces=NS):
            if prop.get("name"):
                found[prop.get("name")] = prop.get("value") or ""
    return found


def _form_key(element: Any) -> str | None:
    for namespace in FORM_KEY_NAMESPACES:
        value = element.get(f"{{{namespace}}}formKey")
        if value:
            return str(value)
    return None


def _task_properties(element: Any, bpmn_id: str, lane: str | None) -> TaskProperties:
    props = _properties(element) if element is not None else {}
    documentation = element.findtext(f"{{{BPMN_NS}}}documentation") if element is not None else None
    documents = tuple(d.strip() for d in props.get("requiredDocuments", "").split(",") if d.strip())
    return TaskProperties(
        bpmn_id=bpmn_id,
        name=(element.get("name") if element is not None else None) or bpmn_id,
        lane=props.get("role") or lane,
        documentation=documentation,
        form=props.get("form") or (_form_key(element) if element is not None else None),
        time_limit=props["timeLimit"].strip() if props.get("timeLimit") else None,
        required_documents=documents,
        assignee_field=props.get("assignee") or None,
        status=props.get("status") or None,
        record=props.get("record") or None,
    )


def _containers(docs: Iterable[_Document]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for doc in docs:
        if doc.is_dmn:
            continue
        for local in _CONTAINERS:
            for element in doc.root.iter(f"{{{BPMN_NS}}}{local}"):
                found.setdefault(element.get("id"), element)
    return found


def _all_task_specs(spec: Any, subprocess_specs: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for process in [spec, *(s for s in subprocess_specs.values() if s is not None)]:
        for task_spec in process.task_specs.values():
            yield process.name, task_spec


def _message_names(definition: Any) -> Iterator[str]:
    if isinstance(definition, MessageEventDefinition) and definition.name:
        yield str(definition.name)
    elif isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _message_names(inner)


def _assemble(
    docs: list[_Document],
    library_docs: list[_Document],
    parsed: dict[str, tuple[Any, dict[str, Any]]],
    problems: _Problems,
) -> list[CompiledProcess]:
    containers = _containers([*docs, *library_docs])
    compiled: list[CompiledProcess] = []
    for doc in docs:
        if doc.is_dmn:
            continue
        content_hash = hashlib.sha256(doc.source.content).hexdigest()
        for key in _executable_ids(doc):
            spec, subprocess_specs = parsed[key]
            human_tasks: dict[str, TaskProperties] = {}
            messages: list[str] = []
            has_scripts = False
            for container_id, task_spec in _all_task_specs(spec, subprocess_specs):
                if isinstance(task_spec, ScriptTaskMixin | ServiceTaskMixin) or getattr(task_spec, "prescript", None):
                    has_scripts = True
                if getattr(task_spec, "postscript", None):
                    has_scripts = True
                if isinstance(task_spec, _HUMAN_MIXINS):
                    container = containers.get(container_id)
                    found = container.xpath(".//*[@id=$id]", id=task_spec.bpmn_id) if container is not None else []
                    human_tasks[task_spec.bpmn_id] = _task_properties(
                        found[0] if found else None, task_spec.bpmn_id, task_spec.lane
                    )
                if isinstance(task_spec, CatchingEvent):
                    messages.extend(n for n in _message_names(task_spec.event_definition) if n not in messages)
            try:
                spec_json = dump_spec(key, spec, subprocess_specs)
            except Exception as exc:  # a spec the serializer cannot store must not be deployed
                problems.add(f"The process cannot be stored ({type(exc).__name__}: {exc}).", doc.name, None, key)
                continue
            process = doc.root.xpath("./bpmn:process[@id=$id]", id=key, namespaces=NS)[0]
            compiled.append(
                CompiledProcess(
                    key=key,
                    name=process.get("name") or key,
                    spec_json=spec_json,
                    content_hash=content_hash,
                    source_name=doc.name,
                    has_scripts=has_scripts,
                    human_tasks=human_tasks,
                    start_timer=doc.start_timers.get(key),
                    messages=tuple(messages),
                )
            )
    if problems.items:
        raise InvalidProcessError(problems.items)
    return compiled


# --- advice for the modeler ----------------------------------------------------------------------------------------


def process_ids(content: bytes) -> list[str]:
    """The executable process ids of a BPMN file, or [] when it cannot be read (compile says why)."""
    try:
        root = etree.fromstring(content, _secure_parser())
    except etree.XMLSyntaxError:
        return []
    return [
        p.get("id")
        for p in root.xpath("./bpmn:process", namespaces=NS)
        if p.get("id") and p.get("isExecutable", "true") == "true"
    ]


def advise(
    sources: Sequence[SourceFile], compiled: Sequence[CompiledProcess], *, known_forms: Iterable[str]
) -> list[Problem]:
    """What deploy accepts but a process owner most likely did not mean: human tasks with no role or an unknown form."""
    forms = set(known_forms)
    lines: dict[str, dict[str, int]] = {}
    for source in sources:
        try:
            root = etree.fromstring(source.content, _secure_parser())
        except etree.XMLSyntaxError:
            continue
        lines[source.name] = {e.get("id"): e.sourceline for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    advice: list[Problem] = []
    for process in compiled:
        where = lines.get(process.source_name, {})
        for task in process.human_tasks.values():
            line = where.get(task.bpmn_id)
            if not task.lane:
                advice.append(
                    Problem(
                        f"The task '{task.name}' has no role: anyone in the unit may work it. Put it in a lane "
                        "named after a role or set its Role.",
                        process.source_name,
                        line,
                        task.bpmn_id,
                    )
                )
            if task.form and task.form not in forms:
                advice.append(
                    Problem(
                        f"The task '{task.name}' uses the form '{task.form}', which no published version has: "
                        "it will open without a form. Deploy the form with `auditloop deploy` first.",
                        process.source_name,
                        line,
                        task.bpmn_id,
                    )
                )
    return advice
