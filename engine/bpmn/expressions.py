"""What other modelers write, turned into what SpiffWorkflow evaluates: `${…}` expressions and ISO 8601 timer text."""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn.scripting import lint_expression

TimerKind = Literal["timeDate", "timeDuration", "timeCycle"]


@dataclass(frozen=True)
class Translation:
    """An expression as Python, or why it cannot be used (`problem`)."""

    python: str | None
    problem: str | None = None


# --- `${…}` / `#{…}` (JUEL as written in Camunda, Flowable and Activiti diagrams) ---------------------------------

_EL_WRAPPED = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_EL_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_$][\w$]*)
      | (?P<op>&&|\|\||==|!=|<=|>=|[!<>+\-*/%()\[\]])
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_EL_WORDS = {
    "true": "True",
    "false": "False",
    "null": "None",
    "and": "and",
    "or": "or",
    "not": "not",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
}
_EL_OPS = {"&&": "and", "||": "or", "!": "not"}
_EL_UNSUPPORTED_WORDS = {"empty", "div", "mod", "instanceof"}

_PYTHON_HINT = (
    "Write the expression in Python instead: read a variable by its name (`x`, not `execution.getVariable('x')`), "
    "use `and`, `or`, `not`, `True`, `False`, `None`, `not x` for `empty x` and `b if a else c` for `a ? b : c`."
)


class _Refused(Exception):
    pass


def is_el(text: str | None) -> bool:
    """True when the whole text is one `${…}` or `#{…}` expression."""
    return bool(text) and _EL_WRAPPED.match(text or "") is not None


def _el_tokens(body: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _EL_TOKEN.match(body, pos)
        if match is None or match.lastgroup is None:
            raise _Refused(f"`{body[pos:].strip()}` is not understood")
        kind, value = match.lastgroup, match.group(match.lastgroup)
        pos = match.end()
        if kind == "other":
            what = {".": "property or method access", "?": "the ?: operator", ":": "the ?: operator"}.get(value, value)
            raise _Refused(f"{what} (`{value}`) is not supported")
        if kind == "name":
            if "$" in value:
                raise _Refused(f"the name `{value}` is not supported")
            if value in _EL_UNSUPPORTED_WORDS:
                raise _Refused(f"the `{value}` operator is not supported")
        tokens.append((kind, value))
    return tokens


def _el_atom(tokens: list[tuple[str, str]], i: int) -> tuple[str, int]:
    """Python text of the operand starting at tokens[i] and the index after it."""
    if i >= len(tokens):
        raise _Refused("an operand is missing")
    kind, value = tokens[i]
    if (kind == "op" and value in ("!", "-", "+")) or (kind == "name" and value == "not"):
        inner, j = _el_atom(tokens, i + 1)
        # EL's ! binds tighter than ==; Python's not does not, so the operand is bracketed.
        return (f"(not {inner})" if value in ("!", "not") else f"{value}{inner}"), j
    if kind == "op" and value == "(":
        inner, j = _el_sequence(tokens, i + 1, closing=")")
        text, j = f"({inner})", j + 1
    elif kind == "string":
        text, j = repr(ast.literal_eval(value)), i + 1
    elif kind == "number":
        text, j = value, i + 1
    elif kind == "name":
        if value in _EL_WORDS and _EL_WORDS[value] in ("True", "False", "None"):
            text = _EL_WORDS[value]
        elif value in _EL_WORDS:
            raise _Refused(f"`{value}` needs an operand before it")
        else:
            text = value
        j = i + 1
        if j < len(tokens) and tokens[j] == ("op", "("):
            raise _Refused(f"calling the function `{value}(…)` is not supported")
    else:
        raise _Refused(f"`{value}` cannot start an operand")
    while j < len(tokens) and tokens[j] == ("op", "["):
        index, j = _el_sequence(tokens, j + 1, closing="]")
        text, j = f"{text}[{index}]", j + 1
    return text, j


def _el_sequence(tokens: list[tuple[str, str]], i: int, closing: str | None) -> tuple[str, int]:
    parts: list[str] = []
    atom, i = _el_atom(tokens, i)
    parts.append(atom)
    while i < len(tokens):
        kind, value = tokens[i]
        if closing is not None and (kind, value) == ("op", closing):
            return " ".join(parts), i
        if kind == "op" and value in _EL_OPS and value != "!":
            parts.append(_EL_OPS[value])
        elif kind == "op" and value in ("==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%"):
            parts.append(value)
        elif kind == "name" and value in _EL_WORDS and value not in ("true", "false", "null", "not"):
            parts.append(_EL_WORDS[value])
        else:
            raise _Refused(f"`{value}` is not expected here")
        atom, i = _el_atom(tokens, i + 1)
        parts.append(atom)
    if closing is not None:
        raise _Refused(f"a closing `{closing}` is missing")
    return " ".join(parts), i


def _strict_el(body: str) -> str:
    tokens = _el_tokens(body)
    if not tokens:
        raise _Refused("it is empty")
    python, _ = _el_sequence(tokens, 0, closing=None)
    return python


def _suggest(body: str) -> str | None:
    """A best-effort Python rewrite of EL the strict translator refuses, shown to the process owner."""
    text = re.sub(r"""execution\s*\.\s*getVariable\s*\(\s*(['"])(\w+)\1\s*\)""", r"\2", body)
    text = re.sub(r"\bnot\s+empty\s+(\w+)", r"\1", text)
    text = re.sub(r"\bempty\s+(\w+)", r"!\1", text)
    # Bean/map properties (invoice.amount) are keys of a dict in task data.
    text = re.sub(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?!\s*\()", r"\1['\2']", text)
    ternary = re.fullmatch(r"([^?:'\"]+)\?([^?:'\"]+):([^?:'\"]+)", text.strip())
    try:
        if ternary:
            cond, yes, no = (_strict_el(part) for part in ternary.groups())
            python = f"{yes} if {cond} else {no}"
        else:
            python = _strict_el(text)
    except _Refused:
        return None
    return python if lint_expression(python) is None else None


def translate_el(text: str) -> Translation:
    """Python for a simple `${…}`/`#{…}` expression; anything beyond the simple subset is refused with a rewrite."""
    match = _EL_WRAPPED.match(text)
    if match is None:
        return Translation(python=text)
    body = match.group("body")
    try:
        return Translation(python=_strict_el(body))
    except _Refused as refused:
        suggestion = _suggest(body)
        how = f"Write it in Python instead: `{suggestion}`." if suggestion else _PYTHON_HINT
        return Translation(python=None, problem=f"The expression `{text.strip()}` cannot be used: {refused}. {how}")


def is_foreign(text: str | None) -> bool:
    """True when `text` is written for another engine (`${…}`, `#{…}`, or FEEL's leading `=`)."""
    source = (text or "").strip()
    return "${" in source or "#{" in source or source.startswith("=")


def _feel(text: str) -> Translation:
    body = text.strip()[1:].strip()
    how = f"Write it in Python instead: `{body}`." if body and lint_expression(body) is None else _PYTHON_HINT
    return Translation(
        python=None,
        problem=f"`{text.strip()}` is a FEEL expression (Camunda 8), which this engine does not run. {how}",
    )


def python_expression(text: str) -> Translation:
    """Translate EL when present, then lint; the result is what may be stored in an expression slot."""
    if text.strip().startswith("="):
        return _feel(text)
    if "${" in text or "#{" in text:
        if not is_el(text):
            return Translation(
                python=None,
                problem=f"`{text.strip()}` is not one complete ${{…}} expression (text around it, or a missing "
                'closing brace). Write the whole value as one Python expression, for example f"PT{hours}H".',
            )
        translated = translate_el(text)
        if translated.python is None:
            return translated
        text = translated.python
    problem = lint_expression(text)
    return Translation(python=text.strip(), problem=problem)


# --- ISO 8601 timers ----------------------------------------------------------------------------------------------

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?P<t>T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?"
)
_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\S*)?")
_WEEK_DATE = re.compile(r"\d{4}-?W\d{2}-?\d(?:T\S*)?")
_CYCLE = re.compile(r"R\d*/\S+")
_LITERAL = re.compile(rf"(?:{_DURATION.pattern}|{_DATE.pattern}|{_WEEK_DATE.pattern}|{_CYCLE.pattern})")

_EXAMPLES: dict[str, str] = {
    "timeDuration": "a duration such as PT48H or P5D",
    "timeDate": "a date and time with an offset such as 2026-12-01T09:00:00+08:00",
    "timeCycle": "a repetition such as R3/PT1H, R/P1D or R3/2026-12-01T09:00:00+08:00/PT1H",
}


@dataclass(frozen=True)
class TimerText:
    """Timer text as a Python expression; `literal` is the ISO value when it is fixed at deploy."""

    expression: str | None
    literal: str | None = None
    problem: str | None = None


def _parse_number(text: str) -> float | int:
    return float(text.replace(",", ".")) if ("." in text or "," in text) else int(text)


def _whole_duration(parts: dict[str, float | int]) -> str | None:
    """The same span without fractions on leading parts, when it can be expressed exactly."""
    if any(isinstance(parts.get(unit), float) for unit in ("years", "months")):
        return None
    seconds = (
        parts.get("weeks", 0) * 604800
        + parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date = "".join(f"{int(v)}{u}" for v, u in ((parts.get("years"), "Y"), (parts.get("months"), "M"), (days, "D")) if v)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + date + ("T" + time if time else "") if (date or time) else None


def check_duration(text: str) -> str | None:
    """None when SpiffWorkflow reads the ISO 8601 duration `text` exactly as written, else why not."""
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.group(unit) for unit in _UNITS) or match.group("t") == "T":
        return f"`{text}` is not an ISO 8601 duration; write {_EXAMPLES['timeDuration']} (P = period, T = time part)."
    parts = {unit: _parse_number(match.group(unit)) for unit in _UNITS if match.group(unit)}
    if "weeks" in parts and any(unit in parts for unit in ("years", "months", "days")):
        days = parts.get("days", 0) + parts["weeks"] * 7
        return f"`{text}`: weeks cannot be combined with years, months or days; write days instead, e.g. `P{days}D`."
    present = [unit for unit in _UNITS if unit in parts]
    if any(isinstance(parts[unit], float) for unit in present[:-1]):
        whole = _whole_duration(parts)
        fix = f"; write `{whole}`" if whole else "; write whole numbers for every part but the last"
        return f"`{text}`: only the last part of a duration may have a fraction (it would be silently dropped){fix}."
    try:
        spiff = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # the library raises a bare Exception for bad durations
        spiff = None
    if spiff != parts:
        return f"`{text}` would not be read as written by the workflow library; write {_EXAMPLES['timeDuration']}."
    return None


def _check_aware_datetime(text: str) -> str | None:
    if _WEEK_DATE.fullmatch(text):
        compact = text.upper().replace("-", "", 2) if text[4] == "-" else text.upper()
        week = re.fullmatch(r"(\d{4})W(\d{2})(\d)(T.+)?", compact)
        if week is None:
            return f"`{text}` is not an ISO 8601 week date such as 2030-W01-1T09:00:00+08:00."
        year, number, day, time = week.groups()
        try:
            date = dt.date.fromisocalendar(int(year), int(number), int(day))
            value = dt.datetime.fromisoformat(date.isoformat() + (time or ""))
            spiff = TimerEventDefinition.parse_iso_week(text)
        except Exception:  # fromisocalendar, fromisoformat and the library all raise different types
            return f"`{text}` is not an ISO 8601 week date the engine can read; write a calendar date instead."
    else:
        try:
            value = dt.datetime.fromisoformat(text)
            spiff = TimerEventDefinition.get_datetime(text)
        except ValueError:
            return f"`{text}` is not an ISO 8601 date and time; write {_EXAMPLES['timeDate']}."
    if value.tzinfo is None:
        return (
            f"`{text}` has no timezone offset, so the server's zone would be guessed; "
            f"add one, e.g. `{text if 'T' in text else text + 'T09:00:00'}+08:00`."
        )
    if spiff != value:
        return f"`{text}` would be read as {spiff.isoformat()} by the workflow library; write a calendar date instead."
    return None


def _check_cycle(text: str) -> str | None:
    parts = text.split("/")
    if not re.fullmatch(r"R\d*", parts[0]) or len(parts) not in (2, 3):
        return f"`{text}` is not an ISO 8601 repetition; write {_EXAMPLES['timeCycle']}."
    durations = [p for p in parts[1:] if p.startswith("P")]
    dates = [p for p in parts[1:] if not p.startswith("P")]
    if len(durations) != 1:
        return f"`{text}`: a repetition needs exactly one duration; write {_EXAMPLES['timeCycle']}."
    for part in durations:
        if problem := check_duration(part):
            return problem
    for part in dates:
        if problem := _check_aware_datetime(part):
            return problem
    try:
        TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:  # the library raises assorted types for malformed intervals
        return f"`{text}` is not a repetition the engine can read; write {_EXAMPLES['timeCycle']}."
    return None


def check_timer_literal(kind: TimerKind, literal: str) -> str | None:
    """None when `literal` is a valid ISO value for the timer slot `kind`, else why not."""
    text = literal.strip()
    if kind == "timeDuration":
        if not text.startswith("P"):
            return f"`{text}` is not a duration; write {_EXAMPLES['timeDuration']} (for a fixed date use a date timer)."
        return check_duration(text)
    if kind == "timeDate":
        if text.startswith(("P", "R")):
            return f"`{text}` is not a date; write {_EXAMPLES['timeDate']} (for a delay use a duration timer)."
        return _check_aware_datetime(text)
    if not text.startswith("R"):
        return f"`{text}` is not a repetition; write {_EXAMPLES['timeCycle']}."
    return _check_cycle(text)


def _string_constant(expression: str) -> str | None:
    try:
        value: Any = ast.literal_eval(expression)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def normalise_timer(kind: TimerKind, text: str | None) -> TimerText:
    """Quote bare ISO literals, translate `${…}`, validate fixed values and lint computed ones."""
    source = (text or "").strip()
    if not source:
        return TimerText(expression=None, problem=f"The timer has no value; write {_EXAMPLES[kind]}.")
    if _LITERAL.fullmatch(source):
        problem = check_timer_literal(kind, source)
        return TimerText(expression=repr(source), literal=source, problem=problem)
    translated = python_expression(source)
    if translated.python is None or translated.problem:
        return TimerText(expression=None, problem=translated.problem)
    literal = _string_constant(translated.python)
    if literal is not None:
        return TimerText(expression=translated.python, literal=literal, problem=check_timer_literal(kind, literal))
    return TimerText(expression=translated.python)
