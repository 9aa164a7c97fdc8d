"""hermes: Hermes function-calling v1 (NousResearch/hermes-function-calling-v1), ShareGPT with the tools and
calls written into the text.

Source: a JSON list (or JSONL) of ``{"id", "conversations": [{"from": "system" | "human" | "gpt" | "tool",
"value": str}], "category", "subcategory", "task"}``.  The system text lists the tools between
``<tools>`` and ``</tools>`` (a Python-repr or JSON list of OpenAI tools, or one spec per line); a ``gpt``
turn writes each call as ``<tool_call>{'arguments': {...}, 'name': 'f'}</tool_call>`` (Python dict quoting
or JSON) and a ``tool`` turn each result as ``<tool_response>{'name': 'f', 'content': ...}</tool_response>``.
Record: the tools in ``tools``; the system message keeps its instruction with the tool list cut out, and
``meta.instruction_syntax: "hermes"`` where it asks for ``<tool_call>`` blocks (a renderer writing another
syntax leaves it out); a ``gpt`` turn's text outside the blocks stays its ``content`` beside its calls
(several blocks: one turn of parallel calls); a ``tool`` turn becomes one tool message per
``<tool_response>`` block, its inner text verbatim, named by the block (else after the call it answers).
Turns without tools (the json-mode subsets) convert as plain chat.  Ids: the source ``id``, else
``hermes/<file stem>/<index>``; ``category``, ``subcategory`` and ``task`` go to ``meta``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import ReadError, literal_at, read_literal
from ..jsonl import Tally
from .common import (answered_call, assistant_message, build_one, case_id, fail, item_or_fail, iter_items,
                     parse_call, tool_message)
from .schema import openai_tool

TOOLS_BLOCK = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
TOOL_RESPONSE = re.compile(r"<tool_response>(.*?)</tool_response>", re.DOTALL)
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
META_KEYS = ("category", "subcategory", "task")


def _tool_specs(text: str, field: str) -> list[Any]:
    """The values between ``<tools>`` tags: one list, or specs one after another."""
    specs: list[Any] = []
    pos = 0
    while text[pos:].strip():
        try:
            value, pos = literal_at(text, pos)
        except ReadError as exc:
            fail(f"the tool list between <tools> tags is not readable ({exc})", field)
        specs.extend(value if isinstance(value, list) else [value])
    return specs


def split_system(text: str, field: str) -> tuple[str, list[dict[str, Any]]]:
    """The system text without its tool list, and the tools (none when no ``<tools>`` block holds any)."""
    block = next((m for m in TOOLS_BLOCK.finditer(text) if m.group(1).strip()), None)
    if block is None:
        return text, []
    specs = _tool_specs(block.group(1), field)
    tools = [openai_tool(spec, f"{field}.tools[{i}]") for i, spec in enumerate(specs)]
    rest = (text[:block.start()].rstrip() + " " + text[block.end():].lstrip()).strip()
    return rest, tools


def assistant_turn(text: str, field: str) -> dict[str, Any]:
    if text.count("<tool_call>") != len(TOOL_CALL.findall(text)):
        fail("a <tool_call> block is not closed", field)
    calls = []
    for j, block in enumerate(TOOL_CALL.findall(text)):
        try:
            value = read_literal(block)
        except ReadError as exc:
            fail(f"<tool_call> block {j + 1} is not readable ({exc})", field)
        calls.append(parse_call(value, f"{field} <tool_call> {j + 1}"))
    return assistant_message(TOOL_CALL.sub("", text).strip(), calls)


def tool_turns(text: str, messages: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    blocks = [b.strip() for b in TOOL_RESPONSE.findall(text)] or [text]
    results = []
    for block in blocks:
        waiting = answered_call([*messages, *results])
        try:
            response = read_literal(block)
        except ReadError:
            response = None  # a result need not be a literal: it stays text, named after its call
        name = response.get("name") if isinstance(response, dict) and isinstance(response.get("name"), str) else None
        name = name or (waiting["function"]["name"] if waiting else None)
        if name is None:
            fail("a tool response that answers no call", field)
        results.append(tool_message(name, block))
    return results


def convert_item(item: Any, default_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        fail("expected an object with a conversations list", "conversations")
    tools: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"source": "hermes", **{k: item[k] for k in META_KEYS if k in item}}
    for i, turn in enumerate(item["conversations"]):
        field = f"conversations[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            fail("a turn needs a string value", field)
        kind, text = turn.get("from"), turn["value"]
        if kind == "system" and not tools:
            text, tools = split_system(text, f"{field}.value")
            if "<tool_call>" in text:
                meta["instruction_syntax"] = "hermes"
            messages.append({"role": "system", "content": text})
        elif kind in ("gpt", "assistant"):
            messages.append(assistant_turn(text, f"{field}.value"))
        elif kind == "tool":
            messages.extend(tool_turns(text, messages, f"{field}.value"))
        elif kind in ROLES:
            messages.append({"role": ROLES[kind], "content": text})
        else:
            fail(f"unknown turn type {kind!r}", f"{field}.from")
    return {"id": item.get("id") or default_id, "tools": tools, "messages": messages, "meta": meta}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("hermes", path, index)))
        if record is not None:
            yield record
