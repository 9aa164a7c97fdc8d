"""paper: the TL-Training authors' raw data format (what their ``code/mae/mae.py`` reads).

Source: a JSON list (or JSONL) of ``{"id", "conversations": [{"role", "content"}]}``; the first message is
``system`` whose content is a JSON list of tools (OpenAI form or bare function specs); an assistant
message's content is ``name\\n{json arguments}``; tool feedback has role ``function``.  The record keeps the
tools in ``tools`` and drops the system message (it held only the tool list; renderers render ``tools``).
Ids: the source id, else ``paper/<file stem>/<index>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import (assistant_message, build_one, case_id, fail, item_or_fail, iter_items, last_call_name,
                     parse_json, parse_json_arguments, tool_message)
from .schema import openai_tool


def _tools(system: Any) -> list[dict[str, Any]]:
    field = "conversations[0].content"
    if not isinstance(system, dict) or system.get("role") != "system":
        fail("the first message must be the system message holding the tool list", "conversations[0]")
    specs = parse_json(system.get("content") or "", field, "the system message's tool list")
    if not isinstance(specs, list):
        fail("the system message must be a JSON list of tools", field)
    return [openai_tool(spec, f"{field}[{i}]") for i, spec in enumerate(specs)]


def _call(content: str, field: str) -> dict[str, Any]:
    name, _, arguments = content.partition("\n")
    if not name.strip() or not arguments.strip():
        fail(f"an assistant message must be 'name\\n{{json arguments}}', got {content[:80]!r}", field)
    return {"name": name.strip(), "arguments": parse_json_arguments(arguments, field)}


def convert_item(item: Any, default_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list) or not item["conversations"]:
        fail("expected an object with a non-empty conversations list", "conversations")
    conversations = item["conversations"]
    tools = _tools(conversations[0])
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(conversations[1:], start=1):
        field = f"conversations[{i}]"
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            fail("a message needs a string content", field)
        role = message.get("role")
        if role == "assistant":
            messages.append(assistant_message("", [_call(message["content"], f"{field}.content")]))
        elif role == "function":
            messages.append(tool_message(last_call_name(messages), message["content"]))
        elif role == "user":
            messages.append({"role": "user", "content": message["content"]})
        else:
            fail(f"role must be user, assistant or function after the system message, got {role!r}", f"{field}.role")
    return {"id": item.get("id") or default_id, "tools": tools, "messages": messages, "meta": {"source": "paper"}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("paper", path, index)))
        if record is not None:
            yield record
