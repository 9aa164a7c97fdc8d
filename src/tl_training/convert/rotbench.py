"""rotbench: RoTBench evaluation files and the RoTBench/ToolEyes GPT-4 training pool (both ReAct).

Evaluation files (``Data/First_Turn/clean.json``, ``slight.json``, ``Third_Turn/clean.json``, ...): a JSON
list of ``{"id", "scenario", "conversations"}`` whose final assistant turn is a *list* of acceptable
ReAct answers.  Each becomes a case ``rotbench/<file stem>/<index>`` (``rotbench/Third_Turn/clean/<index>``
for files under a ``*_Turn`` folder other than First_Turn, so the two ``clean`` files do not collide)
whose messages end before that turn and whose ``gold`` lists one call per answer.  A gold value "None"
means "key present, value unchecked": ``{"any_value": true}``; so do the free-text arguments of
``finish`` and ``ask_to_user``, which RoTBench's scorer passes on the key set alone.

Training pool (IN = the ``Tools_gpt4`` root, a ``<Category>/<Tool>`` folder or one ``train_gpt4.jsonl``):
one JSONL record per turn, ``"id": "Turn k: <query>"``, the conversation up to the k-th assistant turn.
Records are grouped by (tool file, query) and the longest is kept as the trajectory (ties: the first in
the file); the others are counted as folded.  Ids: ``rotbench/<Category>/<Tool>/<query index in file>``.
Oddities kept in training trajectories are listed in ``meta.flags`` (``call_without_feedback``: a call
followed by another assistant turn, as GPT-4 looped without waiting for the result).
``error.jsonl`` holds trajectories the RoTBench authors set aside: each is read and rejected (never
written, also under ``--strict``), counted under "set aside by the RoTBench authors (error.jsonl): " and
the defect that stops its conversion or else the flags we detect.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import RecordError
from ..jsonl import Tally
from .common import build_one, fail, item_or_fail, iter_items, note, reason_of, reject
from .react import INSTRUCTION_META, convert_conversation, parse_turn

FREE_TEXT_TOOLS = ("finish", "ask_to_user")
TURN_ID = re.compile(r"Turn (\d+): (.*)\Z", re.DOTALL)
SET_ASIDE = "set aside by the RoTBench authors (error.jsonl)"


def gold_arguments(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    if name in FREE_TEXT_TOOLS:
        return {key: {"any_value": True} for key in arguments}
    return {key: {"any_value": True} if value == "None" else value for key, value in arguments.items()}


def convert_case(item: Any, record_id: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list) or len(item["conversations"]) < 2:
        fail("expected an object with a conversations list", "conversations")
    *history, final = item["conversations"]
    answers = final.get("value") if isinstance(final, dict) else None
    field = f"conversations[{len(history)}]"
    if not isinstance(final, dict) or final.get("from") != "assistant" or not isinstance(answers, list) or not answers:
        fail("the final turn must be an assistant turn holding a list of acceptable answers", field)
    messages, tools, flags = convert_conversation(history)
    gold = []
    for j, answer in enumerate(answers):
        if not isinstance(answer, str):
            fail("an acceptable answer must be a ReAct text", f"{field}.value[{j}]")
        _, calls = parse_turn(answer, f"{field}.value[{j}]")
        if not calls:
            fail("an acceptable answer holds no call", f"{field}.value[{j}]")
        gold.append([{"name": c["name"], "arguments": gold_arguments(c["name"], c["arguments"])} for c in calls])
    meta = {"source": "rotbench", "source_id": item.get("id"), "scenario": item.get("scenario"), **INSTRUCTION_META}
    if flags:
        meta["flags"] = flags
    return {"id": record_id, "tools": tools, "messages": messages, "gold": gold, "meta": meta}


def _file_key(path: Path) -> str:
    turn_folder = path.parent.name
    if turn_folder.endswith("_Turn") and turn_folder != "First_Turn":
        return f"{turn_folder}/{path.stem}"
    return path.stem


def convert_eval_file(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    for index, (where, item) in enumerate(iter_items(path)):
        record = build_one(tally, strict, where,
                           lambda: convert_case(item_or_fail(item), f"rotbench/{_file_key(path)}/{index}"))
        if record is not None:
            yield record


# ---------------------------------------------------------------------------------------- training pool


def _trajectory(item: Any, record_id: str, tool_dir: Path) -> dict[str, Any]:
    messages, tools, flags = convert_conversation(item["conversations"])
    meta = {"source": "rotbench_train", "category": tool_dir.parent.name, "tool": tool_dir.name,
            "source_id": item["id"], **INSTRUCTION_META}
    if flags:
        meta["flags"] = flags
    return {"id": record_id, "tools": tools, "messages": messages, "meta": meta}


def _turn_query(item: Any) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("conversations"), list):
        fail("expected an object with id and conversations", "conversations")
    match = TURN_ID.match(item.get("id") or "")
    if not match:
        fail(f"id must be 'Turn k: <query>', got {str(item.get('id'))[:60]!r}", "id")
    return match.group(2)


def convert_train_file(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    """One ``train_gpt4.jsonl``: group its per-turn records by query, keep the longest of each."""
    groups: dict[str, tuple[str, Any, int]] = {}  # query -> (where, record, number of records)
    for where, item in iter_items(path):
        tally.read += 1
        try:
            query = _turn_query(item_or_fail(item))
        except RecordError as exc:  # a record we cannot even group: count it like any other defect
            reject(tally, strict, where, exc)
            continue
        kept = groups.get(query)
        if kept is None or len(item["conversations"]) > len(kept[1]["conversations"]):
            groups[query] = (where, item, (kept[2] if kept else 0) + 1)
        else:
            groups[query] = (kept[0], kept[1], kept[2] + 1)
    tool_dir = path.parent
    for index, (where, item, count) in enumerate(groups.values()):
        note(tally, "per-turn records folded into the longest record of their trajectory", count - 1)
        record = build_one(tally, strict, where, count_read=False,
                           build=lambda: _trajectory(item, f"rotbench/{tool_dir.parent.name}/{tool_dir.name}/{index}", tool_dir))
        if record is not None:
            yield record


def _set_aside(item: Any) -> None:
    """Reject one error.jsonl trajectory under "set aside ...: <its defect or flags>"."""
    try:
        _turn_query(item_or_fail(item))
        _, _, flags = convert_conversation(item["conversations"])
        detail = ", ".join(flags) or "no defect detected here"
    except RecordError as exc:
        detail = reason_of(exc)
    fail(f"{SET_ASIDE}: {detail}")


def convert_error_file(path: Path, tally: Tally, strict: bool) -> None:
    for where, item in iter_items(path):
        build_one(tally, False, where, lambda: _set_aside(item))  # always rejected: --strict would stop on every one


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    if path.is_file() and path.suffix == ".json":
        yield from convert_eval_file(path, tally, strict)
        return
    if path.is_file():
        yield from convert_train_file(path, tally, strict)
        return
    tool_dirs = sorted({f.parent for name in ("train_gpt4.jsonl", "error.jsonl") for f in path.rglob(name)})
    if not tool_dirs:
        fail(f"{path}: neither a RoTBench .json file nor a folder holding <Category>/<Tool>/train_gpt4.jsonl")
    for tool_dir in tool_dirs:  # some tools keep only their error.jsonl (the large train files are missing)
        if (tool_dir / "train_gpt4.jsonl").is_file():
            yield from convert_train_file(tool_dir / "train_gpt4.jsonl", tally, strict)
        if (tool_dir / "error.jsonl").is_file():
            convert_error_file(tool_dir / "error.jsonl", tally, strict)
