"""toolace: ToolACE (Team-ACE/ToolACE ``data.json``), tools as JSON inside the system text and calls as
Python-call lists.

Source: a JSON list (or JSONL) of ``{"system": str, "conversations": [{"from": "user" | "assistant" |
"tool", "value": str}]}``.  The system text holds the tools as a JSON list after "Here is a list of
functions in JSON format that you can invoke:" (parameters with ``"type": "dict"``, read by
``schema.py``) and asks for calls as ``[func1(a=1), func2(b='x')]``.  An assistant turn whose whole text is
such a list becomes one turn of calls (parsed by ``calls.parse_calls``, Python syntax; several calls stay
one turn); other assistant text stays text, verbatim.  A tool turn's value is a JSON list of results
``[{"name", "results"}]``: when it holds one result per call of the turn it answers, each becomes its own
tool message (the result object as compact JSON) so every call meets its own feedback; otherwise the
value is one tool message, verbatim.
Record: tools in ``tools``; the system message keeps the instruction with the list cut out, and
``meta.instruction_syntax: "python"`` (a renderer writing another syntax leaves it out).
Ids: ``toolace/<file stem>/<index>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import ReadError, parse_calls, read_json
from ..jsonl import Tally
from .common import (answered_call, assistant_message, build_one, case_id, cut_value, fail, item_or_fail,
                     iter_items, tool_message)
from .schema import openai_tool

TOOLS_MARKER = re.compile(r"in JSON format that you can invoke:\s*", re.IGNORECASE)
CALL_LIST = re.compile(r"\A\s*\[\s*[^\W\d][\w. -]*\(")  # "[func(" opens a call list; names may hold spaces


def split_system(text: str, field: str) -> tuple[str, list[dict[str, Any]]]:
    marker = TOOLS_MARKER.search(text)
    start = text.find("[", marker.end()) if marker else -1
    if start < 0:
        return text, []
    specs, rest = cut_value(text, start, field, "the tool list in the system text")
    if not isinstance(specs, list):
        fail("the tool list in the system text must be a JSON list", field)
    return rest, [openai_tool(spec, f"{field}.tools[{i}]") for i, spec in enumerate(specs)]


def _named_calls(text: str, names: list[str]) -> tuple[str, dict[str, str]]:
    """ToolACE names tools with spaces and dashes ("Market Trends API"), which Python call syntax cannot
    write: each such declared name, where a call opens, stands in for a placeholder while the list is
    parsed; the placeholders map back to the names."""
    aliases = {}
    for i, name in enumerate(sorted((n for n in names if not n.isidentifier()), key=len, reverse=True)):
        alias = f"tool_alias_{i}"
        text, count = re.subn(rf"(?<=[\[,\s]){re.escape(name)}\s*\(", f"{alias}(", text)
        if count:
            aliases[alias] = name
    return text, aliases


def assistant_turn(text: str, field: str, names: list[str]) -> dict[str, Any]:
    if not CALL_LIST.match(text):
        return {"role": "assistant", "content": text}
    source, aliases = _named_calls(text, names)
    parsed = parse_calls(source, "python")
    if parsed.error:
        fail(f"unreadable call list: {parsed.error}", field)
    return assistant_message("", [{**call, "name": aliases.get(call["name"], call["name"])} for call in parsed.calls])


def tool_turns(text: str, messages: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    waiting = answered_call(messages)
    if waiting is None:
        fail("a tool turn must follow a call", field)
    calls = messages[-1].get("tool_calls") or []  # the turn answered, when none of its results came yet
    try:
        results = read_json(text)
    except ReadError:
        results = None
    one_each = (isinstance(results, list) and len(results) == len(calls) > 1
                and all(isinstance(r, dict) and r.get("name") == c["function"]["name"] for r, c in zip(results, calls)))
    if not one_each:
        return [tool_message(waiting["function"]["name"], text)]
    return [tool_message(r["name"], json.dumps(r, ensure_ascii=False)) for r in results]


def convert_item(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        fail("expected an object with a conversations list", "conversations")
    messages: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"source": "toolace"}
    if isinstance(item.get("system"), str):
        system, tools = split_system(item["system"], "system")
        messages.append({"role": "system", "content": system})
        if tools:
            meta["instruction_syntax"] = "python"
    for i, turn in enumerate(item["conversations"]):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            fail("a turn needs a string value", field)
        kind, text = turn.get("from"), turn["value"]
        if kind == "assistant":
            messages.append(assistant_turn(text, f"{field}.value", [t["function"]["name"] for t in tools]))
        elif kind == "tool":
            messages.extend(tool_turns(text, messages, f"{field}.value"))
        elif kind == "user":
            messages.append({"role": "user", "content": text})
        else:
            fail(f"unknown turn type {kind!r}", f"{field}.from")
    return {"id": record_id, "tools": tools, "messages": messages, "meta": meta}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("toolace", path, index)))
        if record is not None:
            yield record
