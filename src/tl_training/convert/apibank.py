"""apibank: API-Bank's Alpaca-style step samples (``training-data/lv*-train.json``).

Source: a JSON list of ``{"instruction", "input", "output"}``.  ``input`` holds the API descriptions (one
JSON object per line, ``{"apiCode", "description", "parameters"}``), the dialogue (``User: ...`` /
``AI: ...`` lines), earlier calls with their results (``API-Request: [Api(k='v')]->{result}``) and a final
``Generate API Request:`` or ``Generate AI Response:``; ``output`` is ``API-Request: [Api(k='v')]`` or
``AI: text``.  One record per sample, ``apibank/<file stem>/<index>``: the earlier calls and AI turns are
context (``"train": false``: each of them is the output of its own sample, so training on them again
would count them twice), the output is the one trained turn.  Calls are read with the shared Python-call
parser; API-Bank often leaves string values unquoted (``location=New York``): those are quoted first and
the record gets ``meta.flags: ["quoted_bare_values"]``; a record calling a tool that no description or
readable ToolSearcher result names gets ``"undescribed_tool"``.  Tools: the listed APIs plus those that ToolSearcher results describe (``input_parameters``).
The Alpaca instruction goes to ``meta.instruction``: it describes a call syntax that renderers replace.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import parse_calls
from ..jsonl import Tally
from .common import assistant_message, build_one, case_id, fail, item_or_fail, iter_items, parse_json, tool_message
from .schema import parameters_schema

LINE_KINDS = ("User:", "AI:", "API-Request:", "Generate API Request:", "Generate AI Response:")
HISTORY_CALL = re.compile(r"API-Request:\s*(\[.*?\]|\w[\w.]*\(.*?\))->(.*)\Z", re.DOTALL)
def _tool(name: str, description: str, parameters: Any, field: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description or "",
                                             "parameters": parameters_schema(parameters or {}, field)}}


BARE_CALL = re.compile(r"\s*\[?\s*([\w.]+)\((.*)\)\s*\]?\s*\Z", re.DOTALL)


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text.strip())  # literals only, never eval
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def quote_bare_values(text: str) -> str | None:
    """``Api(location=New York)`` -> ``Api(location='New York')``: API-Bank writes many string values
    unquoted; we quote each value that is not a Python literal by itself, and the shared parser reads the
    result.  None when the text is not one call of that shape."""
    match = BARE_CALL.match(text)
    if not match:
        return None
    parts = [p for p in re.split(r",\s*(?=\w+\s*=)", match.group(2)) if p.strip()]
    quoted = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            return None
        quoted.append(f"{key.strip()}={value.strip() if _is_literal(value) else repr(value.strip())}")
    return f"{match.group(1)}({', '.join(quoted)})"


def _calls(text: str, field: str, flags: set[str]) -> list[dict[str, Any]]:
    result = parse_calls(text.strip(), "python")
    if result.error and (repaired := quote_bare_values(text)) is not None:
        retry = parse_calls(repaired, "python")
        if not retry.error and retry.calls:
            flags.add("quoted_bare_values")
            return retry.calls
    if result.error or not result.calls:
        fail(f"not a Python-style call ({result.error or 'no call'}): {text.strip()[:80]!r}", field)
    return result.calls


def _found_tools(result: str) -> list[dict[str, Any]]:
    """Tools a ToolSearcher result describes; results are Python literals (read with literal_eval, never
    eval).  Results that are not literals describe no tool (the record is then flagged, see below);
    ``input_parameters`` that are not a mapping (``{'none'}``) mean no parameters."""
    try:
        value = ast.literal_eval(result.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return []
    found = value if isinstance(value, list) else [value]
    return [_tool(f["name"], f.get("description", ""),
                  f.get("input_parameters") if isinstance(f.get("input_parameters"), dict) else {}, "ToolSearcher result")
            for f in found if isinstance(f, dict) and isinstance(f.get("name"), str)]


def _segments(text: str) -> list[str]:
    """Input lines grouped so that a line starting with none of the known prefixes continues the last."""
    segments: list[str] = []
    for line in text.split("\n"):
        if line.startswith(LINE_KINDS) or line.startswith("{") and not segments or not segments:
            segments.append(line)
        elif segments[-1].startswith("{") and line.startswith("{"):
            segments.append(line)
        else:
            segments[-1] += "\n" + line
    return segments


def convert_sample(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("instruction", "input", "output")):
        fail('expected {"instruction", "input", "output"} strings', "input")
    tools: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    flags: set[str] = set()
    for segment in _segments(item["input"]):
        if segment.startswith("{"):
            api = parse_json(segment, "input", "an API description")
            if not isinstance(api, dict) or not api.get("apiCode"):
                fail("an API description needs an apiCode", "input")
            tools[api["apiCode"]] = _tool(api["apiCode"], api.get("description", ""), api.get("parameters"), "input")
        elif segment.startswith("User:"):
            messages.append({"role": "user", "content": segment[len("User:"):].strip()})
        elif segment.startswith("AI:"):
            messages.append({"role": "assistant", "content": segment[len("AI:"):].strip(), "train": False})
        elif segment.startswith("API-Request:"):
            match = HISTORY_CALL.match(segment)
            if not match:
                fail(f"an earlier call must be 'API-Request: [Api(...)]->result': {segment[:80]!r}", "input")
            calls = _calls(match.group(1), "input", flags)
            messages.append({**assistant_message("", calls), "train": False})
            messages.append(tool_message(calls[-1]["name"], match.group(2)))
            if calls[-1]["name"] == "ToolSearcher":
                tools.update((t["function"]["name"], t) for t in _found_tools(match.group(2)))
        elif not segment.startswith(("Generate API Request:", "Generate AI Response:")) and segment.strip():
            fail(f"unrecognised input line {segment[:60]!r}", "input")
    output = item["output"].strip()
    if output.startswith("API-Request:"):
        messages.append(assistant_message("", _calls(output[len("API-Request:"):], "output", flags)))
    elif output.startswith("AI:"):
        messages.append({"role": "assistant", "content": output[len("AI:"):].strip()})
    else:
        fail(f"output must start with 'API-Request:' or 'AI:': {output[:60]!r}", "output")
    if not any(m["role"] == "user" for m in messages):
        fail("no User: line in the input", "input")
    called = {tc["function"]["name"] for m in messages for tc in m.get("tool_calls", [])}
    if called - set(tools):
        flags.add("undescribed_tool")  # a ToolSearcher result that is not a readable literal
    return {"id": record_id, "tools": list(tools.values()), "messages": messages,
            "meta": {"source": "apibank", "instruction": item["instruction"].strip(), "step_sample": True,
                     **({"flags": sorted(flags)} if flags else {})}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_sample(item_or_fail(item), case_id("apibank", path, index)))
        if record is not None:
            yield record
