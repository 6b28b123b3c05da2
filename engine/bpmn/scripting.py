"""The restricted script environment every expression and script runs in, and the named helpers processes may call."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import functools
import operator
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.Limits import limited_builtins
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

# Builtins a process may call by name, on top of RestrictedPython's safe set.
CALLABLE_BUILTINS: frozenset[str] = frozenset(
    {
        "min", "max", "sum", "any", "all", "sorted", "enumerate", "dict", "len", "abs", "round",
        "str", "int", "float", "bool", "list", "tuple", "set", "zip", "range",
    }
)  # fmt: skip

# Methods of str and dict that only read, so an expression may call them on task data.
SAFE_METHODS: frozenset[str] = frozenset(
    {"get", "lower", "upper", "strip", "startswith", "endswith", "keys", "values", "items"}
)

_BUILTINS: dict[str, Any] = {
    **safe_builtins,
    **limited_builtins,
    "min": min,
    "max": max,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "enumerate": enumerate,
    "dict": dict,
    "len": len,
    "abs": abs,
    "round": round,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "set": set,
    "zip": zip,
}

_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
}


def _inplace_var(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE_OPS:
        raise ValueError(f"the operator {op} is not allowed in scripts")
    return _INPLACE_OPS[op](target, value)


class _PrintSink:
    """Stands in for RestrictedPython's print collector: print() in a script is accepted and discarded."""

    def __init__(self, _getattr: Any = None) -> None:
        pass

    def _call_print(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self) -> str:
        # Callable, so the clean-up after a script removes it from task data.
        return ""


# Placed last in every namespace so task data can never replace a guard.
_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace_var,
    "_print_": _PrintSink,
}


class RestrictedCodeError(ValueError):
    """Code RestrictedPython refused to compile.

    Deliberately not a SyntaxError: SpiffWorkflow's error path crashes on a SyntaxError without a line number.
    """


_HELPERS: dict[str, Callable[..., Any]] = {}


def register_helper(name: str, fn: Callable[..., Any]) -> None:
    """Make `fn` callable by `name` from every expression and script."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"helper name {name!r} must be an identifier that does not start with '_'")
    if name in _BUILTINS:
        raise ValueError(f"helper name {name!r} would hide a builtin")
    _HELPERS[name] = fn


def helper_names() -> frozenset[str]:
    """Names of the registered helpers."""
    return frozenset(_HELPERS)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).date() if "T" in value else dt.date.fromisoformat(value)
    raise TypeError(f"days_between expects dates or ISO date strings, not {type(value).__name__}")


def days_between(start: Any, end: Any) -> int:
    """Calendar days from `start` to `end` (dates, datetimes or ISO strings); negative when end is earlier."""
    return (_as_date(end) - _as_date(start)).days


register_helper("days_between", days_between)


# Scripts and expressions are compiled under this file name, so the time budget can tell their frames apart.
SCRIPT_FILENAME = "<auditloop script>"
_LINES_PER_CLOCK_CHECK = 1000
_time_limit_s = 2.0


class ScriptTimeLimitError(RuntimeError):
    """A script or expression ran longer than the configured time limit and was stopped."""


def set_time_limit(seconds: float) -> None:
    """How long one script or expression may run (AUDITLOOP_SCRIPT_TIME_LIMIT_S); set once at start-up."""
    global _time_limit_s
    if seconds <= 0:
        raise ValueError("the script time limit must be a positive number of seconds")
    _time_limit_s = seconds


@contextlib.contextmanager
def _time_budget() -> Iterator[None]:
    """Trace only the script's own frames and stop them once the budget is spent.

    A `while True:` in a diagram would otherwise hold a web worker and the instance's lock for ever. The clock is
    read every thousand lines, so ordinary scripts pay little; a single long C call (one huge `sorted`) is not
    interrupted, which RestrictedPython's limited `range` and the task-data size keep small.
    """
    limit_s = _time_limit_s
    deadline = time.monotonic() + limit_s
    lines = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        lines += 1
        if lines % _LINES_PER_CLOCK_CHECK == 0 and time.monotonic() > deadline:
            raise ScriptTimeLimitError(f"the script ran longer than its limit of {limit_s:g} s and was stopped")
        return local

    def enter(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == SCRIPT_FILENAME else None

    previous = sys.gettrace()
    sys.settrace(enter)
    try:
        yield
    finally:
        sys.settrace(previous)


@functools.lru_cache(maxsize=2048)
def _compile(mode: str, source: str) -> Any:
    # Code objects are immutable, so caching them per source text is safe and saves a compile per evaluation.
    if mode == "eval":
        result = compile_restricted_eval(source, filename=SCRIPT_FILENAME)
    else:
        result = compile_restricted_exec(source, filename=SCRIPT_FILENAME)
    if result.errors:
        raise RestrictedCodeError("Restricted code rejected: " + "; ".join(result.errors))
    return result.code


class RestrictedTaskDataEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """TaskDataEnvironment that compiles with RestrictedPython and runs with guards instead of full builtins.

    The policy lives here, not in the script engine, because correlation expressions call the environment directly.
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__()
        # The live registry (not a copy: the base class swaps an empty dict for a new one), so helpers registered
        # after start-up are visible without rebuilding the engine.
        self.globals = _HELPERS if helpers is None else dict(helpers)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code = _compile("eval", expression)
        namespace = {**self.globals, **(external_context or {}), **context, **_GUARDS}
        with _time_budget():
            return eval(code, namespace)  # noqa: S307 - compiled by RestrictedPython, guarded namespace

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = _compile("exec", script)
        self.check_for_overwrite(context, external_context or {})
        injected = {**self.globals, **(external_context or {}), **_GUARDS}
        context.update(injected)
        try:
            with _time_budget():
                exec(code, context)  # noqa: S102 - compiled by RestrictedPython, guarded namespace
        finally:
            for key in list(context):
                if key in injected or callable(context[key]):
                    context.pop(key, None)
        return True


_ENGINE = PythonScriptEngine(environment=RestrictedTaskDataEnvironment())


def script_engine() -> PythonScriptEngine:
    """The one restricted engine; re-attach it to every workflow after it is loaded."""
    return _ENGINE


_NODE_WORDS: dict[type[ast.AST], str] = {
    ast.Lambda: "a lambda",
    ast.NamedExpr: "the := operator",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Starred: "* unpacking",
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.IfExp,
    ast.Name,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    # Comprehensions only iterate task data (through the same guards) and make MI completion conditions readable.
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.expr_context,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)

_EXAMPLE = "for example `amount > 1000 and level == 'A'`"


def _callable_names() -> list[str]:
    return sorted(CALLABLE_BUILTINS | helper_names())


def _check_private(node: ast.AST, text: str) -> str | None:
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"`{node.id}`: names starting with '_' are not allowed in an expression; use a variable of the process."
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        snippet = ast.get_source_segment(text, node) or node.attr
        return f"`{snippet}`: attributes starting with '_' are not allowed in an expression."
    return None


def _check_node(node: ast.AST, text: str) -> str | None:
    snippet = ast.get_source_segment(text, node) or ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return f"`{snippet}`: the power operator ** is not allowed in an expression; multiply instead (`x * x`)."
    if isinstance(node, ast.keyword) and node.arg is None:
        return f"`{snippet}`: ** unpacking is not allowed in an expression; pass each argument by name."
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in CALLABLE_BUILTINS and func.id not in _HELPERS:
                return (
                    f"`{snippet}`: the function `{func.id}` cannot be called from an expression. "
                    f"Allowed functions are: {', '.join(_callable_names())}. "
                    "For other engine behaviour ask an administrator to register a helper."
                )
        elif isinstance(func, ast.Attribute):
            if func.attr not in SAFE_METHODS:
                return (
                    f"`{snippet}`: calling `.{func.attr}(...)` is not allowed in an expression. "
                    f"Read variables by name (`x`, not `execution.getVariable('x')`); the methods allowed are "
                    f"{', '.join('.' + m + '()' for m in sorted(SAFE_METHODS))}."
                )
        else:
            return f"`{snippet}`: only named functions can be called in an expression."
    if not isinstance(node, _ALLOWED_NODES):
        what = _NODE_WORDS.get(type(node), f"`{snippet or type(node).__name__}`")
        return f"{what} is not allowed in an expression; write a plain condition or value, {_EXAMPLE}."
    return None


def lint_expression(text: str) -> str | None:
    """None when `text` is an expression a process may use, else what is wrong and how to write it."""
    source = text.strip()
    if not source:
        return "The expression is empty; write a condition or value, " + _EXAMPLE + "."
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" (column {exc.offset})" if exc.offset else ""
        return (
            f"`{source}` is not a valid Python expression{where}: {exc.msg}. "
            f"Expressions are written in Python, {_EXAMPLE}; quote text values ('A') and ISO durations ('PT48H')."
        )
    # Private names first: they are the escape attempts, so they are what the message should be about.
    for check in (_check_private, _check_node):
        for node in ast.walk(tree):
            if problem := check(node, source):
                return problem
    # A second, independent gate: whatever the walk let through must also compile under RestrictedPython.
    result = compile_restricted_eval(source)
    if result.errors:
        return "The expression is not allowed: " + "; ".join(error.rstrip(".") for error in result.errors) + "."
    return None


def lint_script(text: str) -> str | None:
    """None when `text` compiles as a restricted script, else a readable reason."""
    try:
        tree = ast.parse(text or "", mode="exec")
    except SyntaxError as exc:
        return f"The script has a syntax error on line {exc.lineno}: {exc.msg}."
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            return (
                f"Line {node.lineno}: scripts may not import modules. "
                "Use the functions available to every script, or ask an administrator to register a helper."
            )
    result = compile_restricted_exec(text)
    if result.errors:
        return "The script is not allowed: " + "; ".join(_explain(error) for error in result.errors) + "."
    return None


def _explain(error: str) -> str:
    reason = error.rstrip(".")
    if "Augmented assignment of object items" in reason:
        return reason + " (write `totals['x'] = totals['x'] + 1` instead of `totals['x'] += 1`)"
    if '"_' in reason or "'_" in reason:
        return reason + " (names and attributes starting with '_' are reserved)"
    return reason
