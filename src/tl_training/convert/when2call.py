"""when2call: When2Call training data (nvidia/When2Call ``train/when2call_train_sft.jsonl`` and
``train/when2call_train_pref.jsonl``): when to call a tool, ask for what is missing, or say it cannot.

Source, SFT: ``{"tools": [...], "messages": [{"role": "user"}, {"role": "assistant"}]}``; preference:
``{"tools", "messages": [user turn], "chosen_response": {"role": "assistant", "content"},
"rejected_response": {...}}``.  Tools are xLAM-style specs, as objects or JSON text, with ``"type": "dict"``
and a ``required`` list beside ``parameters`` (read by ``schema.py``).  An assistant text
``<TOOLCALL>[{"name", "arguments"}, ...]</TOOLCALL>`` is a turn of calls (several: parallel, one turn);
any text outside the tags stays its content.  Refusals and clarifying questions are plain assistant text.

Records: SFT items are trajectories (the assistant turn trained).  Preference items are preference
records: ``messages`` hold the prompt (the user turn), and ``chosen`` / ``rejected`` each hold one
assistant turn as a one-message list (TRL's conversational preference layout), calls read as above;
``meta.split`` is ``"preference"``.  SFT and RL read ``messages`` only, so a preference record trains
nothing there; it is input for preference optimisation.  The test files (multiple-choice,
``correct_answer`` among four answer kinds) are not training data: each item is rejected, saying so.
Ids: ``when2call/<file stem>/<index>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from ..record import validate_message
from .common import (assistant_message, build_one, case_id, fail, item_or_fail, iter_items, parse_call,
                     parse_json)
from .schema import openai_tool

TOOLCALL = re.compile(r"<TOOLCALL>(.*?)</TOOLCALL>", re.DOTALL)


def assistant_turn(message: Any, field: str) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("role") != "assistant" or not isinstance(message.get("content"), str):
        fail('expected {"role": "assistant", "content": str}', field)
    text = message["content"]
    if text.count("<TOOLCALL>") != len(TOOLCALL.findall(text)):
        fail("a <TOOLCALL> block is not closed", field)
    calls = []
    for block in TOOLCALL.findall(text):
        listed = parse_json(block, f"{field}.content", "the <TOOLCALL> block")
        for j, call in enumerate(listed if isinstance(listed, list) else [listed]):
            calls.append(parse_call(call, f"{field}.content <TOOLCALL>[{j}]"))
    return assistant_message(TOOLCALL.sub("", text).strip(), calls)


def _messages(item: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(item.get("messages"), list) or not item["messages"]:
        fail("expected a non-empty messages list", "messages")
    messages = []
    for i, message in enumerate(item["messages"]):
        field = f"messages[{i}]"
        if isinstance(message, dict) and message.get("role") == "assistant":
            messages.append(assistant_turn(message, field))
        else:
            validate_message(message, field)
            messages.append(dict(message))
    return messages


def convert_item(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        fail("expected an object with tools and messages", "messages")
    if "correct_answer" in item:
        fail("a When2Call test item (multiple choice among answer kinds): not training data, not converted",
             "correct_answer")
    specs = parse_json(item.get("tools") or [], "tools", "tools")
    if not isinstance(specs, list):
        fail("tools must be a list", "tools")
    record: dict[str, Any] = {"id": record_id, "tools": [openai_tool(s, f"tools[{i}]") for i, s in enumerate(specs)],
                              "messages": _messages(item), "meta": {"source": "when2call", "split": "sft"}}
    if "chosen_response" in item or "rejected_response" in item:
        record["chosen"] = [assistant_turn(item.get("chosen_response"), "chosen_response")]
        record["rejected"] = [assistant_turn(item.get("rejected_response"), "rejected_response")]
        record["meta"]["split"] = "preference"
    return record


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where, lambda: convert_item(item_or_fail(item), case_id("when2call", path, index)))
        if record is not None:
            yield record
