"""glaive: ShareGPT conversations (LLaMA-Factory's glaive_toolcall files).

Source: ``[{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value": str}], "tools":
"<JSON list of function specs>"}]``.  A ``function_call`` value is ``{"name", "arguments"}`` (JSON text);
it becomes an assistant message with ``tool_calls``; an ``observation`` becomes a tool message named after
the call it answers.  One record per conversation: ``glaive/<file stem>/<index>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import (assistant_message, build_one, case_id, fail, item_or_fail, iter_items, last_call_name,
                     openai_tool, parse_json_arguments, tool_message)

ROLE_OF = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def _tools(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as exc:
            fail(f"tools is not valid JSON ({exc.msg})", "tools")
    if not isinstance(raw, list):
        fail("tools must be a JSON list of function specs", "tools")
    return [openai_tool(spec, f"tools[{i}]") for i, spec in enumerate(raw)]


def _call(value: Any, field: str) -> dict[str, Any]:
    try:
        call = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        fail(f"function_call is not valid JSON ({exc.msg}): {str(value)[:80]!r}", field)
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        fail('function_call must be {"name": ..., "arguments": {...}}', field)
    return {"name": call["name"], "arguments": parse_json_arguments(call.get("arguments", {}), f"{field}.arguments")}


def convert_item(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        fail("expected an object with a conversations list", "conversations")
    messages: list[dict[str, Any]] = []
    if item.get("system"):
        messages.append({"role": "system", "content": item["system"]})
    for i, turn in enumerate(item["conversations"]):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            fail("a turn needs a string value", field)
        source = turn.get("from")
        if source == "function_call":
            messages.append(assistant_message("", [_call(turn["value"], f"{field}.value")]))
        elif source == "observation":
            if last_call_name(messages) is None:
                fail("an observation must follow a function_call", field)
            messages.append(tool_message(last_call_name(messages), turn["value"]))
        elif source in ROLE_OF:
            messages.append({"role": ROLE_OF[source], "content": turn["value"]})
        else:
            fail(f"unknown turn type {source!r}", f"{field}.from")
    return {"id": record_id, "tools": _tools(item.get("tools", [])), "messages": messages,
            "meta": {"source": "glaive"}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("glaive", path, index)))
        if record is not None:
            yield record
