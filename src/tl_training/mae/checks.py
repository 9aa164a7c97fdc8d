"""Call checks: a call can be adverse even when its feedback is silent (or there is none)."""

from __future__ import annotations

from typing import Any

from ..record import tool_schema
from .feedback import Finding


def check_call(call: dict[str, Any], record: dict[str, Any], *, unknown_tool: bool = True,
               schema: bool = True, names: frozenset[str] | None = None) -> Finding | None:
    """``unknown_tool`` when the name is not among the record's tools; with ``schema``, an argument the
    tool does not declare (``unexpected_argument``) or a required one left out (``missing_argument``).
    A record without a tool list, or a tool without declared parameters, cannot be checked: no finding."""
    tools = record.get("tools") or []
    if not tools:
        return None
    name = call["name"]
    known = names if names is not None else frozenset(t["function"]["name"] for t in tools)
    if name not in known:
        return Finding("unknown_tool", f"{name!r} is not in the tool list", "call") if unknown_tool else None
    if not schema:
        return None
    parameters = (tool_schema(record, name) or {}).get("parameters")
    if not isinstance(parameters, dict) or "properties" not in parameters:
        return None
    declared = parameters["properties"]
    arguments = call.get("arguments") or {}
    for key in arguments:
        if key not in declared:
            return Finding("unexpected_argument", f"{name}: argument {key!r} is not declared", "call")
    for key in parameters.get("required") or []:
        if key not in arguments:
            return Finding("missing_argument", f"{name}: required argument {key!r} is missing", "call")
    return None
