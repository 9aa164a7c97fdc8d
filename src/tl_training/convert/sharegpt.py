"""The ShareGPT tool-calling shape shared by glaive (LLaMA-Factory's files) and APIGen-MT.

Source: ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation"|"system", "value": str}],
"tools": "<JSON list of function specs>" (or the list itself), "system"?: str}``.  A ``function_call``
value is JSON text of ``{"name", "arguments"}``, or of a list of them (parallel calls: one assistant turn);
an ``observation`` becomes a tool message answering the next call of the turn before it that has no result
yet (after a turn of k calls, the k observations that follow answer them in order).  ``system`` becomes
the first message, verbatim.
"""

from __future__ import annotations

from typing import Any

from .common import (answered_call, assistant_message, fail, last_call_name, parse_call, parse_json,
                     tool_message)
from .schema import openai_tool

ROLE_OF = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def tools_of(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str) and not raw.strip():
        return []
    specs = parse_json(raw, "tools", "tools")
    if not isinstance(specs, list):
        fail("tools must be a JSON list of function specs", "tools")
    return [openai_tool(spec, f"tools[{i}]") for i, spec in enumerate(specs)]


def _calls(value: str, field: str) -> list[dict[str, Any]]:
    parsed = parse_json(value, field, "function_call")
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items:
        fail("function_call holds no call", field)
    return [parse_call(item, f"{field}[{j}]" if isinstance(parsed, list) else field) for j, item in enumerate(items)]


def convert_conversation(item: Any, record_id: str, source: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        fail("expected an object with a conversations list", "conversations")
    messages: list[dict[str, Any]] = []
    if item.get("system"):
        messages.append({"role": "system", "content": item["system"]})
    for i, turn in enumerate(item["conversations"]):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            fail("a turn needs a string value", field)
        kind = turn.get("from")
        if kind == "function_call":
            messages.append(assistant_message("", _calls(turn["value"], f"{field}.value")))
        elif kind == "observation":
            call = answered_call(messages)
            name = call["function"]["name"] if call else last_call_name(messages)
            if name is None:
                fail("an observation must follow a function_call", field)
            messages.append(tool_message(name, turn["value"]))
        elif kind in ROLE_OF:
            messages.append({"role": ROLE_OF[kind], "content": turn["value"]})
        else:
            fail(f"unknown turn type {kind!r}", f"{field}.from")
    return {"id": record_id, "tools": tools_of(item.get("tools", [])), "messages": messages, "meta": {"source": source}}
