"""xlam: xLAM / APIGen function-calling data (Salesforce/xlam-function-calling-60k) and the benchmarks
redistributed in its layout (Hammer's API-Bank, Seal-Tools, ToolAlpaca test files).

Source: a JSON list (or JSONL) of ``{"query", "tools", "answers"}``.  ``tools`` is a list of
``{"name", "description", "parameters"}`` whose parameters are an xLAM map ``{name: {"type": "str",
"description", "default"}}`` (read by ``schema.py``); ``answers`` is a list of calls ``{"name",
"arguments"}``.  ``query`` is the user's request, or a conversation: a list of ``{"role": "user" | "agent"
| "assistant" | "tool", "content"}`` turns where ``agent`` is the assistant's text, ``assistant`` an
earlier call written as a JSON list (in a code fence) and ``tool`` its result.

What a record becomes depends on how the item is written, because the two layouts are the two uses:
- ``tools`` and ``answers`` as JSON *text* (the APIGen training release, with an ``id``): a trajectory --
  the query, then one assistant turn holding every answer (parallel calls stay one turn), trained.
  Id ``xlam/<file stem>/<index>``, ``meta.source_id`` the source id.
- ``tools`` and ``answers`` as JSON *values* (the benchmark redistributions): an evaluation case -- the
  query conversation, ``gold`` = the answers as the one acceptable answer (no answers: ``[[]]``, no call).
  Id ``xlam/<file stem>/<index>``.
Kept verbatim: the text of every turn (API-Bank's "Generate API Request:" cue included).  Dropped: a
tool's ``return`` schema (the prompt shows inputs only).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import parse_calls
from ..jsonl import Tally
from .common import (answered_call, assistant_message, build_one, case_id, fail, item_or_fail, iter_items,
                     last_call_name, parse_call, parse_json, tool_message)
from .schema import openai_tool

CODE_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", re.DOTALL)
ROLES = {"user": "user", "agent": "assistant", "system": "system"}


def _listed(item: dict[str, Any], key: str) -> list[Any]:
    value = parse_json(item.get(key, []), key, key)
    if not isinstance(value, list):
        fail(f"{key} must be a list", key)
    return value


def _earlier_call(text: str, field: str) -> dict[str, Any]:
    """An ``assistant`` turn of a query conversation: an earlier call, or text when it holds none."""
    fenced = CODE_FENCE.match(text)
    parsed = parse_calls(fenced.group(1) if fenced else text, "json")
    if parsed.error:
        fail(f"not a JSON call: {parsed.error}", field)
    return assistant_message("" if parsed.calls else text, parsed.calls)


def conversation(query: Any) -> list[dict[str, Any]]:
    if isinstance(query, str):
        return [{"role": "user", "content": query}]
    if not isinstance(query, list) or not query:
        fail("query must be a string or a non-empty list of turns", "query")
    messages: list[dict[str, Any]] = []
    for i, turn in enumerate(query):
        field = f"query[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
            fail("a turn is {\"role\", \"content\"} with string content", field)
        role, text = turn.get("role"), turn["content"]
        if role == "assistant":
            messages.append(_earlier_call(text, f"{field}.content"))
        elif role == "tool":
            waiting = answered_call(messages)
            name = waiting["function"]["name"] if waiting else last_call_name(messages)
            if name is None:
                fail("a tool turn must follow a call", field)
            messages.append(tool_message(name, text))
        elif role in ROLES:
            messages.append({"role": ROLES[role], "content": text})
        else:
            fail(f"role must be user, agent, assistant, tool or system, got {role!r}", f"{field}.role")
    return messages


def convert_item(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or "query" not in item:
        fail('expected {"query", "tools", "answers"}', "query")
    tools = [openai_tool(spec, f"tools[{i}]") for i, spec in enumerate(_listed(item, "tools"))]
    calls = [parse_call(answer, f"answers[{j}]") for j, answer in enumerate(_listed(item, "answers"))]
    messages = conversation(item["query"])
    meta: dict[str, Any] = {"source": "xlam"}
    if "id" in item:
        meta["source_id"] = item["id"]
    if isinstance(item.get("answers"), str):  # the training release: the answer is the trained turn
        return {"id": record_id, "tools": tools, "messages": [*messages, assistant_message("", calls)], "meta": meta}
    return {"id": record_id, "tools": tools, "messages": messages, "gold": [calls], "meta": meta}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("xlam", path, index)))
        if record is not None:
            yield record
