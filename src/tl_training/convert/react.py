"""The ReAct conversation shape shared by RoTBench, its training pool and ToolEyes.

Source: ``{"id", "conversations": [{"from": "system"|"user"|"assistant"|"function", "value": str}]}``.
The system text embeds the tool list as JSON after "...the following tools:"; the record keeps that list
in ``tools`` and the system message keeps the instruction text with the JSON cut out (renderers render
``tools`` themselves).  An assistant turn ``Thought: ...\\nAction: name\\nAction Input: {json}`` becomes
``content`` = the thought and ``tool_calls`` = the parsed call (the shared ``calls.parse_calls``);
``function`` turns become tool messages, their text verbatim (MAE reads the real feedback).
The system instruction asks for ReAct answers: records say so in ``meta`` (``INSTRUCTION_META``), so that
a renderer writing another call syntax can leave it out (``render/layout.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ..calls import parse_calls
from .common import assistant_message, cut_value, fail, last_call_name, tool_message
from .schema import openai_tool

TOOLS_MARKER = re.compile(r"the following tools:\s*", re.IGNORECASE)
ACTION_LINE = re.compile(r"^\s*Action\s*:", re.MULTILINE)
FLAG_NO_FEEDBACK = "call_without_feedback"  # a call followed by another assistant turn, not by its feedback
THOUGHT_LABEL = re.compile(r"^\s*Thought\s*:\s*", re.IGNORECASE)
INSTRUCTION_META = {"instruction_syntax": "react"}  # the system text asks for Thought / Action / Action Input


def split_system(text: str, field: str) -> tuple[str, list[dict[str, Any]]]:
    """The system text without its tool dump, and the tools in OpenAI form."""
    marker = TOOLS_MARKER.search(text)
    start = text.find("[", marker.end()) if marker else -1
    if start < 0:
        fail("no tool list after 'the following tools:' in the system text", field)
    specs, rest = cut_value(text, start, field, "the tool list in the system text")
    if not isinstance(specs, list):
        fail("the tool list in the system text must be a JSON list", field)
    return rest, [openai_tool(spec, f"{field}.tools[{i}]") for i, spec in enumerate(specs)]


def thought_of(text: str) -> str:
    """The text before the first ``Action:`` line, without its ``Thought:`` label."""
    match = ACTION_LINE.search(text)
    return THOUGHT_LABEL.sub("", text[: match.start()] if match else text, count=1).strip()


def parse_turn(text: str, field: str) -> tuple[str, list[dict[str, Any]]]:
    """One assistant ReAct text -> (thought, calls); a text that tries to be a call and fails is a defect."""
    result = parse_calls(text, "react")
    if result.error:
        fail(f"unparseable ReAct call: {result.error}", field)
    if not result.calls:
        return text.strip(), []
    return thought_of(text), result.calls


def convert_conversation(conversations: Any, field: str = "conversations") -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """ReAct turns -> (messages, tools, flags).  Flags name oddities kept as they are (real trajectories
    hold calls whose feedback never came): ``call_without_feedback``."""
    if not isinstance(conversations, list) or not conversations:
        fail("expected a non-empty conversations list", field)
    first = conversations[0]
    if not isinstance(first, dict) or first.get("from") != "system" or not isinstance(first.get("value"), str):
        fail("the first turn must be the system text holding the tool list", f"{field}[0]")
    system, tools = split_system(first["value"], f"{field}[0].value")
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    flags: set[str] = set()
    for i, turn in enumerate(conversations[1:], start=1):
        where = f"{field}[{i}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            fail("a turn needs a string value", f"{where}.value")
        source, text = turn.get("from"), turn["value"]
        if source == "assistant":
            if messages[-1]["role"] == "assistant" and messages[-1].get("tool_calls"):
                flags.add(FLAG_NO_FEEDBACK)
            messages.append(assistant_message(*parse_turn(text, f"{where}.value")))
        elif source == "function":
            if messages[-1]["role"] != "assistant" or not messages[-1].get("tool_calls"):
                fail("tool feedback that follows no call", where)
            messages.append(tool_message(last_call_name(messages), text))
        elif source == "user":
            messages.append({"role": "user", "content": text})
        else:
            fail(f"unknown turn type {source!r}", f"{where}.from")
    return messages, tools, sorted(flags)
