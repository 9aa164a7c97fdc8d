"""toolbench: ToolBench DFS answer files (``data/answer/G*_answer/*.json``).

Source: one search tree per file; ``answer_generation.train_messages`` is a list of OpenAI
function-calling message lists, one per assistant step, each a prefix of the next.  We keep the longest as
the tree's one trajectory (the shorter ones are counted as folded).  ``function_call.arguments`` (JSON
text) becomes a dict; ``function`` messages become tool messages with the feedback kept verbatim
(``{"error": ..., "response": ...}``: MAE reads it).  Tools: ``answer_generation.function``.  A tree whose
search found no answer has no ``train_messages``: counted as rejected with that reason.
IN is one answer file or a folder searched recursively for ``*.json``.  Ids: ``toolbench/G1/57``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import assistant_message, build_one, fail, load_json, note, parse_json_arguments, tool_message
from .schema import openai_tool


def _message(message: Any, field: str) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant", "function", "tool"):
        fail("a message needs a role among system, user, assistant, function", field)
    content = message.get("content") or ""
    if not isinstance(content, str):
        fail("content must be a string", f"{field}.content")
    if message["role"] == "assistant":
        call = message.get("function_call")
        if not call:
            return assistant_message(content, [])
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            fail('function_call must be {"name", "arguments"}', f"{field}.function_call")
        arguments = parse_json_arguments(call.get("arguments", ""), f"{field}.function_call.arguments")
        return assistant_message(content, [{"name": call["name"], "arguments": arguments}])
    if message["role"] in ("function", "tool"):
        return tool_message(message.get("name"), content)
    return {"role": message["role"], "content": content}


def convert_tree(data: Any, record_id: str, tally: Tally) -> dict[str, Any]:
    generation = data.get("answer_generation") if isinstance(data, dict) else None
    if not isinstance(generation, dict):
        fail("no answer_generation object", "answer_generation")
    steps = generation.get("train_messages")
    if not steps:
        fail(f"no train_messages: the search found no answer (valid_data={generation.get('valid_data')}, "
             f"finish_type={generation.get('finish_type')!r})", "answer_generation.train_messages")
    if not isinstance(steps, list) or not all(isinstance(s, list) for s in steps):
        fail("train_messages must be a list of message lists", "answer_generation.train_messages")
    longest = max(steps, key=len)
    tools = [openai_tool(spec, f"answer_generation.function[{i}]") for i, spec in enumerate(generation.get("function") or [])]
    messages = [_message(m, f"answer_generation.train_messages[{steps.index(longest)}][{i}]") for i, m in enumerate(longest)]
    note(tally, "per-step train_messages lists folded into their tree's longest one", len(steps) - 1)
    return {"id": record_id, "tools": tools, "messages": messages,
            "meta": {"source": "toolbench", "query": generation.get("query"), "finish_type": generation.get("finish_type")}}


def _tree_id(path: Path) -> str:
    group = path.parent.name.split("_")[0]  # G1_answer -> G1
    return f"toolbench/{group}/{path.stem.split('_')[0]}"


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    for file in files:
        record = build_one(tally, strict, str(file), lambda: convert_tree(load_json(file), _tree_id(file), tally))
        if record is not None:
            yield record
