"""glaive_v2: the raw glaive-function-calling-v2 text (glaiveai/glaive-function-calling-v2).

Source: a JSON list (or JSONL) of ``{"system": "SYSTEM: ... -\\n{function spec}\\n\\n{function spec}",
"chat": "USER: ...\\n\\n\\nASSISTANT: <functioncall> {...} <|endoftext|>\\n\\n\\nFUNCTION RESPONSE: ...\\n\\n\\n
ASSISTANT: ..."}``.  The system text lists zero or more pretty-printed JSON function specs after its
instruction ("You are a helpful assistant with access to the following functions. Use them if required
-"); the chat is a run of ``USER:``, ``ASSISTANT:`` and ``FUNCTION RESPONSE:`` turns.  A call is written
``<functioncall> {"name": "f", "arguments": '{"a": 1}'}``: the arguments are JSON text inside *single*
quotes, so the payload is read as a Python dict literal (and, where the arguments hold an apostrophe that
ends that literal early, as the name and the text between the outer single quotes); the arguments text is
then read as JSON.  Text before ``<functioncall>`` stays the turn's content beside its call.
Record: the specs in ``tools``, the system message keeps the instruction (without ``SYSTEM:`` and the
specs); ``<|endoftext|>`` markers are dropped; a function response becomes a tool message named after
the call it answers, verbatim.  Ids: ``glaive_v2/<file stem>/<index>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import ReadError, literal_at, read_arguments, read_json, read_literal
from ..jsonl import Tally
from .common import (answered_call, assistant_message, build_one, case_id, fail, item_or_fail, iter_items,
                     last_call_name, parse_call, tool_message)
from .schema import openai_tool

TURN = re.compile(r"(?:\A|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]?")
END_OF_TEXT = "<|endoftext|>"
FUNCTION_CALL = "<functioncall>"
QUOTED_ARGUMENTS = re.compile(r"""\A\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*'(.*)'\s*\}\Z""", re.DOTALL)


def split_system(text: str, field: str) -> tuple[str, list[dict[str, Any]]]:
    text = re.sub(r"\A\s*SYSTEM:\s*", "", text)
    start = text.find("{")
    if start < 0:
        return text.strip(), []
    specs, pos = [], start
    while text.startswith("{", pos):
        try:
            spec, pos = literal_at(text, pos)
        except ReadError as exc:
            fail(f"a function spec in the system text is not readable ({exc})", field)
        specs.append(spec)
        pos = len(text) - len(text[pos:].lstrip())
    tools = [openai_tool(spec, f"{field}.functions[{i}]") for i, spec in enumerate(specs)]
    return (text[:start].rstrip() + "\n\n" + text[pos:].lstrip()).strip(), tools


def read_function_call(payload: str, field: str) -> dict[str, Any]:
    try:
        return parse_call(read_literal(payload), field)
    except ReadError:
        pass
    quoted = QUOTED_ARGUMENTS.match(payload)
    if quoted is None:
        fail(f"<functioncall> is not a readable call: {payload[:80]!r}", field)
    try:
        return {"name": read_json(quoted.group(1)), "arguments": read_arguments(quoted.group(2))}
    except ReadError as exc:
        fail(f"<functioncall> arguments are not valid: {exc}", field)


def turns(chat: str) -> list[tuple[str, str]]:
    """(speaker, text) of each turn of the chat, ``<|endoftext|>`` removed."""
    marks = list(TURN.finditer(chat))
    if not marks or chat[:marks[0].start()].strip():
        fail("the chat must start with a USER:, ASSISTANT: or FUNCTION RESPONSE: turn", "chat")
    ends = [m.start() for m in marks[1:]] + [len(chat)]
    return [(m.group(1), chat[m.end():end].replace(END_OF_TEXT, "").strip()) for m, end in zip(marks, ends)]


def convert_item(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("chat"), str):
        fail('expected {"system", "chat"} strings', "chat")
    system, tools = split_system(item.get("system") or "", "system")
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for i, (speaker, text) in enumerate(turns(item["chat"])):
        field = f"chat turn {i}"
        if speaker == "USER":
            messages.append({"role": "user", "content": text})
        elif speaker == "ASSISTANT" and FUNCTION_CALL in text:
            content, _, payload = text.partition(FUNCTION_CALL)
            messages.append(assistant_message(content.strip(), [read_function_call(payload.strip(), field)]))
        elif speaker == "ASSISTANT":
            messages.append({"role": "assistant", "content": text})
        else:
            waiting = answered_call(messages)
            name = waiting["function"]["name"] if waiting else last_call_name(messages)
            if name is None:
                fail("a FUNCTION RESPONSE that follows no call", field)
            messages.append(tool_message(name, text))
    if not messages or all(m["role"] == "system" for m in messages):
        fail("the chat holds no turn", "chat")
    return {"id": record_id, "tools": tools, "messages": messages, "meta": {"source": "glaive_v2"}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("glaive_v2", path, index)))
        if record is not None:
            yield record
