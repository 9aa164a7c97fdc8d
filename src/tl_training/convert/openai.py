"""openai: chat records with OpenAI ``tool_calls`` (JSONL, or a JSON list).

Source: ``{"messages": [...], "tools": [...], "id"?: str, ...}`` where ``tool_calls[].function.arguments``
may be a JSON string (as the OpenAI API returns it) and tool messages may carry only ``tool_call_id``.
Arguments become dicts, tool messages get the name of the call they answer, and bare function specs in
``tools`` are wrapped in OpenAI form.  Keys of the canonical record (``gold``, ``meta``, ``train``) pass
through, so canonical records convert to themselves.  Ids: the source ``id``, else ``openai/<stem>/<index>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from ..record import openai_tool_call
from .common import (build_one, case_id, fail, item_or_fail, iter_items, last_call_name, openai_tool,
                     parse_json_arguments)


def _assistant(message: dict[str, Any], field: str, call_names: dict[str, str]) -> dict[str, Any]:
    result = {k: v for k, v in message.items() if k != "tool_calls"}
    result["content"] = message.get("content") or ""
    calls = []
    for j, tool_call in enumerate(message.get("tool_calls") or []):
        where = f"{field}.tool_calls[{j}]"
        function = tool_call.get("function") if isinstance(tool_call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            fail('a tool call is {"type": "function", "function": {"name", "arguments"}}', where)
        arguments = parse_json_arguments(function.get("arguments", {}), f"{where}.function.arguments")
        calls.append(openai_tool_call({"name": function["name"], "arguments": arguments}))
        if tool_call.get("id"):
            call_names[tool_call["id"]] = function["name"]
    if calls:
        result["tool_calls"] = calls
    return result


def convert_item(item: Any, default_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        fail("expected an object with a messages list", "messages")
    call_names: dict[str, str] = {}
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(item["messages"]):
        field = f"messages[{i}]"
        if not isinstance(message, dict):
            fail("a message must be an object", field)
        if message.get("role") == "assistant":
            messages.append(_assistant(message, field, call_names))
        elif message.get("role") == "tool":
            tool = {k: v for k, v in message.items() if k != "tool_call_id"}
            tool.setdefault("name", call_names.get(message.get("tool_call_id")) or last_call_name(messages))
            if tool["name"] is None:
                del tool["name"]
            messages.append(tool)
        else:
            messages.append(dict(message))
    record = {k: v for k, v in item.items() if k not in ("messages", "tools")}
    record["id"] = item.get("id") or default_id
    record["tools"] = [openai_tool(spec, f"tools[{i}]") for i, spec in enumerate(item.get("tools") or [])]
    record["messages"] = messages
    record.setdefault("meta", {}).setdefault("source", "openai")
    return record


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("openai", path, index)))
        if record is not None:
            yield record
