"""openai: chat records with OpenAI ``tool_calls`` (JSONL, or a JSON list), as the OpenAI API writes them
and as Toucan and Nemotron publish them.

Source: ``{"messages": [...], "tools": [...], "id"?: str, ...}``.  ``messages`` and ``tools`` may be JSON
text (Toucan stores both as strings; its tools are in ``available_tools``), and so may each tool spec and
each call's ``arguments`` (as the API returns them).  Everything JSON is read by the strict reader of
``calls``: NaN or a repeated key is a defect of the record, named with its file and line.
Kept: call ids (``tool_calls[].id``) and the ``tool_call_id`` of tool messages, so results pair with their
calls by id; an assistant turn's text beside its calls; parallel calls as one turn; other message keys
(``reasoning_content``).  Tool messages get the name of the call they answer (by id, else in order).  Bare
function specs in ``tools`` are wrapped in OpenAI form.  The canonical record's keys (``id``, ``gold``,
``meta``, ``chosen``, ``rejected``) pass through, so canonical records convert to themselves; other
top-level fields (Toucan's ``question``, quality assessments and ``metadata``) are dropped.
Ids: the source ``id`` (or ``uuid``), else ``openai/<stem>/<index>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import (answered_call, assistant_message, build_one, case_id, fail, item_or_fail, iter_items,
                     last_call_name, parse_json, parse_json_arguments)
from .schema import openai_tool

PASSED_THROUGH = ("gold", "meta", "chosen", "rejected")
TOOL_FIELDS = ("tools", "available_tools")


def _call(tool_call: Any, field: str) -> dict[str, Any]:
    function = tool_call.get("function") if isinstance(tool_call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        fail('a tool call is {"type": "function", "function": {"name", "arguments"}}', field)
    return {"name": function["name"], "arguments": parse_json_arguments(function.get("arguments", {}),
                                                                        f"{field}.function.arguments")}


def assistant_turn(message: dict[str, Any], field: str) -> dict[str, Any]:
    """An OpenAI assistant message with its calls read, their ids kept, its other keys as they are."""
    tool_calls = message.get("tool_calls") or []
    if not isinstance(tool_calls, list):
        fail("tool_calls must be a list", f"{field}.tool_calls")
    calls = [_call(tc, f"{field}.tool_calls[{j}]") for j, tc in enumerate(tool_calls)]
    ids = [tc.get("id") for tc in tool_calls]
    turn = assistant_message(message.get("content") or "", calls, ids)
    return {**{k: v for k, v in message.items() if k not in ("tool_calls", "content")}, **turn}


def _tool(message: dict[str, Any], messages: list[dict[str, Any]], call_names: dict[str, str]) -> dict[str, Any]:
    tool = dict(message)
    if not tool.get("name"):
        waiting = answered_call(messages)
        tool["name"] = call_names.get(message.get("tool_call_id")) or (
            waiting["function"]["name"] if waiting else last_call_name(messages))
    if tool["name"] is None:
        del tool["name"]
    return tool


def convert_item(item: Any, default_id: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        fail("expected an object with a messages list", "messages")
    source_messages = parse_json(item.get("messages"), "messages", "messages")
    if not isinstance(source_messages, list):
        fail("expected an object with a messages list", "messages")
    call_names: dict[str, str] = {}
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(source_messages):
        field = f"messages[{i}]"
        if not isinstance(message, dict):
            fail("a message must be an object", field)
        if message.get("role") == "assistant":
            messages.append(assistant_turn(message, field))
            call_names.update((tc["id"], tc["function"]["name"]) for tc in messages[-1].get("tool_calls", []) if "id" in tc)
        elif message.get("role") == "tool":
            messages.append(_tool(message, messages, call_names))
        else:
            messages.append(dict(message))
    tools_field = next((key for key in TOOL_FIELDS if item.get(key)), "tools")
    specs = parse_json(item.get(tools_field) or [], tools_field, tools_field)
    if not isinstance(specs, list):
        fail("tools must be a list of tool specs", tools_field)
    record = {"id": item.get("id") or item.get("uuid") or default_id,
              "tools": [openai_tool(spec, f"{tools_field}[{i}]") for i, spec in enumerate(specs)],
              "messages": messages}
    record.update((key, item[key]) for key in PASSED_THROUGH if key in item)
    record.setdefault("meta", {}).setdefault("source", "openai")
    return record


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("openai", path, index)))
        if record is not None:
            yield record
