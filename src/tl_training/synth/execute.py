"""Executing a call against a tool's implementation, as a Python function call would run it.

Missing and unexpected arguments are left to Python itself, so their messages are the interpreter's own
(``get_x() missing 1 required positional argument: 'city'``).  Python does not check types, so this module
checks the bound arguments against the declared hints and raises ``TypeError``/``ValueError`` naming the
parameter, the way a typed API would.  An unknown tool is a ``NameError``, as calling an undefined name is.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from .registry import Param, Tool

FEEDBACK_STYLES = ("json", "plain")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: Any = None
    error: str = ""        # "ExceptionType: message" when not ok


class ToolWorld:
    """What a call can reach: tools by name and each domain's database."""

    def __init__(self, tools: Mapping[str, Tool], databases: Mapping[str, dict]):
        self.tools, self.databases = tools, databases

    def execute(self, call: Mapping[str, Any], available: Collection[str] | None = None) -> Outcome:
        """Run ``call`` (``{"name", "arguments"}``); ``available`` limits which tools exist for it."""
        name, arguments = call["name"], call.get("arguments") or {}
        try:
            tool = self.tools.get(name) if isinstance(name, str) else None
            if tool is None or (available is not None and name not in available):
                raise NameError(f"name {name!r} is not defined")
            db = self.databases[tool.domain]
            try:
                bound = inspect.signature(tool.function).bind(db, **arguments)
            except TypeError:
                tool.function(db, **arguments)   # fails the same way, with Python's own message
                raise AssertionError("binding failed but the call did not")  # pragma: no cover
            for param_name, value in list(bound.arguments.items())[1:]:
                check_value(tool.name, tool.param(param_name), value)
            return Outcome(True, tool.function(db, **arguments))
        except (TypeError, ValueError, NameError) as exc:   # a bug elsewhere must stay loud
            return Outcome(False, error=f"{type(exc).__name__}: {exc}")


def check_value(tool: str, param: Param, value: Any) -> None:
    """Raise TypeError/ValueError when ``value`` does not fit ``param``'s declared type."""
    if value is None and not param.required:
        return
    if not _is_kind(value, param.kind):
        raise TypeError(f"{tool}() argument {param.name!r} must be {_kind_name(param)}, not {type(value).__name__}")
    if param.item_kind is not None:
        for item in value:
            if not _is_kind(item, param.item_kind):
                raise TypeError(f"{tool}() argument {param.name!r} must be {_kind_name(param)}, "
                                f"found an item of type {type(item).__name__}")
    if param.choices and value not in param.choices:
        raise ValueError(f"{tool}() argument {param.name!r} must be one of "
                         f"{', '.join(map(repr, param.choices))}; got {value!r}")


def _is_kind(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _kind_name(param: Param) -> str:
    if param.item_kind is not None:
        return f"list[{param.item_kind.__name__}]"
    return param.kind.__name__


def feedback(outcome: Outcome, style: str) -> str:
    """The tool message text: ToolBench-like ``{"error", "response"}`` JSON, or bare result / exception text."""
    if style == "json":
        return json.dumps({"error": outcome.error, "response": outcome.result if outcome.ok else ""},
                          ensure_ascii=False)
    if style == "plain":
        return json.dumps(outcome.result, ensure_ascii=False) if outcome.ok else outcome.error
    raise ValueError(f"unknown feedback style {style!r}; expected one of {FEEDBACK_STYLES}")
