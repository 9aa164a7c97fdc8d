"""bfcl: single-turn BFCL categories read from the installed ``bfcl-eval`` package's data files.

IN is a category name (``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``,
``irrelevance``, ``live_simple``, ...) or a path to a ``BFCL_v*_<category>.json`` file; its ground truth
is the file of the same name under ``possible_answer/``.  Each line ``{"id", "question": [[messages]],
"function": [specs]}`` becomes one evaluation case ``bfcl/<category>/<index>`` with ``meta.bfcl_id``.
Gold: the ground truth lists the calls of one answer (any order for parallel), each parameter with its
acceptable values: one non-empty value -> that literal, otherwise ``{"any_of": [...]}`` with BFCL's ""
("may be left out") as null.  Irrelevance categories have no ground truth: gold ``[[]]`` (no call).
Parameter types follow BFCL's own GORILLA_TO_OPENAPI table (dict -> object, float -> number, tuple ->
array, any -> string, Java/JavaScript names likewise), which the shared schema normaliser (``schema.py``)
holds, so that no bfcl_eval module is imported.
Multi-turn categories (``multi_turn_base``, ``multi_turn_miss_func``, ``multi_turn_miss_param``,
``multi_turn_long_context``) become episodes for ``eval/multiturn.py``, not single-call cases: ``messages``
hold the first user turn, ``tools`` the function docs of the involved classes (``multi_turn_func_doc/``)
less the held-out ones, and ``meta`` the rest as BFCL gives it: ``turns`` (every turn's user messages),
``initial_config``, ``involved_classes``, ``holdout_tools`` (turn index -> tools added at that turn) and
``ground_truth`` (each turn's calls as BFCL's Python call strings; parsed when the episode runs).
Memory, web-search and relevance categories are not call cases: a clear error.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError
from ..jsonl import Tally
from .common import build_one, fail, item_or_fail, iter_items
from .schema import openai_tool

NO_GOLD = ("irrelevance", "live_irrelevance")
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
FUNC_DOC_FILES = {  # BFCL's MULTI_TURN_FUNC_DOC_FILE_MAPPING for the multi-turn classes
    "GorillaFileSystem": "gorilla_file_system.json", "MathAPI": "math_api.json", "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json", "TicketAPI": "ticket_api.json", "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json", "VehicleControlAPI": "vehicle_control.json",
}
UNSUPPORTED = ("multi_turn", "memory", "web_search", "format_sensitivity", "live_relevance")


def data_dir() -> Path:
    spec = importlib.util.find_spec("bfcl_eval")  # locates the package without importing its modules
    if spec is None or not spec.submodule_search_locations:
        raise UserError("bfcl-eval is not installed: pip install --no-deps bfcl-eval==2026.3.23")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def category_file(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    if name not in MULTI_TURN and any(name.startswith(prefix) for prefix in UNSUPPORTED):
        raise UserError(f"BFCL category {name!r} is not a single-turn call category; supported: "
                        f"{', '.join(available_categories())}")
    matches = sorted(p for p in data_dir().glob("BFCL_v*_*.json") if category_of(p) == name)
    if not matches:
        raise UserError(f"no BFCL category {name!r} in {data_dir()}; supported: {', '.join(available_categories())}")
    return matches[-1]  # the newest version


def available_categories() -> list[str]:
    names = {re.sub(r"^BFCL_v\d+_", "", p.stem) for p in data_dir().glob("BFCL_v*_*.json")}
    return sorted(n for n in names if not n.startswith(UNSUPPORTED))


def multi_turn_categories() -> list[str]:
    return [c for c in MULTI_TURN if any(data_dir().glob(f"BFCL_v*_{c}.json"))]


def category_of(path: Path) -> str:
    return re.sub(r"^BFCL_v\d+_", "", path.stem)


def _tool(spec: Any, field: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        fail("a function spec needs a name", field)
    return openai_tool(spec, field)


MAX_ALTERNATIVES = 256
_OMIT = object()  # a nested dict key whose acceptable values include "" may be left out


def _product(options: list[list[Any]], field: str) -> list[list[Any]]:
    combos: list[list[Any]] = [[]]
    for choice in options:
        combos = [combo + [value] for combo in combos for value in choice]
        if len(combos) > MAX_ALTERNATIVES:
            fail(f"more than {MAX_ALTERNATIVES} acceptable combinations of nested values", field)
    return combos


def _expand(value: Any, field: str) -> list[Any]:
    """The concrete values one BFCL acceptable value stands for.  BFCL nests acceptable-value lists inside
    dict values ({"k": [v1, v2, ""]}) and inside lists of dicts; we spell each combination out so that the
    gold stays a plain ``any_of`` of literals (README, The record)."""
    if isinstance(value, dict):
        keys = list(value)
        options = [_alternatives(value[k], f"{field}.{k}", omit=_OMIT) for k in keys]
        return [{k: v for k, v in zip(keys, combo) if v is not _OMIT} for combo in _product(options, field)]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        options = [_expand(v, f"{field}[{i}]") for i, v in enumerate(value)]
        return [list(combo) for combo in _product(options, field)]
    return [value]


def _alternatives(values: Any, field: str, omit: Any) -> list[Any]:
    if isinstance(values, dict):  # a few live entries give the dict itself, not a list of acceptable dicts
        values = [values]
    if not isinstance(values, list) or not values:
        fail("no acceptable value (BFCL gives an empty list)", field)
    result: list[Any] = []
    for value in values:
        for concrete in [omit] if value == "" else _expand(value, field):
            if not any(concrete is r or (concrete == r and type(concrete) is type(r)) for r in result):
                result.append(concrete)
    return result


def gold_value(values: Any, field: str) -> Any:
    """BFCL's acceptable values of one parameter -> a literal (one value) or ``{"any_of": [...]}`` where
    null ("" in BFCL) means the parameter may be left out."""
    accepted = _alternatives(values, field, omit=None)
    return accepted[0] if len(accepted) == 1 and accepted[0] is not None else {"any_of": accepted}


def gold_answer(ground_truth: Any) -> list[dict[str, Any]]:
    if not isinstance(ground_truth, list):
        fail("ground_truth must be a list of calls", "ground_truth")
    calls = []
    for j, entry in enumerate(ground_truth):
        if not isinstance(entry, dict) or len(entry) != 1:
            fail("each ground-truth call is {name: {param: [values]}}", f"ground_truth[{j}]")
        (name, params), = entry.items()
        if not isinstance(params, dict):
            fail("parameters must be an object", f"ground_truth[{j}].{name}")
        calls.append({"name": name, "arguments": {k: gold_value(v, f"ground_truth[{j}].{name}.{k}") for k, v in params.items()}})
    return calls


def convert_item(item: Any, answer: Any, category: str, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("question"), list) or not item["question"]:
        fail("expected an object with a question list", "question")
    turns = item["question"]
    if len(turns) != 1 or not isinstance(turns[0], list):
        fail(f"expected one turn of messages, got {len(turns)}", "question")
    messages = [{"role": m.get("role"), "content": m.get("content")} for m in turns[0] if isinstance(m, dict)]
    tools = [_tool(spec, f"function[{i}]") for i, spec in enumerate(item.get("function") or [])]
    if category in NO_GOLD:
        gold = [[]]
    else:
        if not isinstance(answer, dict) or answer.get("id") != item.get("id"):
            fail(f"possible_answer entry {index} does not match id {item.get('id')!r}", "ground_truth")
        gold = [gold_answer(answer.get("ground_truth"))]
    return {"id": f"bfcl/{category}/{index}", "tools": tools, "messages": messages, "gold": gold,
            "meta": {"source": "bfcl", "bfcl_id": item.get("id"), "category": category}}


def func_docs(class_name: str, field: str) -> list[dict[str, Any]]:
    if class_name not in FUNC_DOC_FILES:
        fail(f"unknown class {class_name!r}; known: {', '.join(FUNC_DOC_FILES)}", field)
    return [item for _, item in iter_items(data_dir() / "multi_turn_func_doc" / FUNC_DOC_FILES[class_name])]


def convert_multi_turn_item(item: Any, answer: Any, category: str, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("question"), list) or not item["question"]:
        fail("expected an object with a question list (one list of messages per turn)", "question")
    if not isinstance(answer, dict) or answer.get("id") != item.get("id"):
        fail(f"possible_answer entry {index} does not match id {item.get('id')!r}", "ground_truth")
    turns, truth = item["question"], answer.get("ground_truth")
    if not isinstance(truth, list) or len(truth) != len(turns):
        fail(f"expected one list of calls per turn ({len(turns)} turns)", "ground_truth")
    if not all(isinstance(t, list) and all(isinstance(c, str) for c in t) for t in truth):
        fail("each turn's ground truth is a list of Python call strings", "ground_truth")
    classes = item.get("involved_classes")
    if not isinstance(classes, list) or not classes:
        fail("expected a non-empty list of class names", "involved_classes")
    docs = [doc for c in classes for doc in func_docs(c, "involved_classes")]
    missed = item.get("missed_function") or {}
    held = {name for names in missed.values() for name in names}
    tools = [_tool(doc, f"function {doc.get('name')}") for doc in docs if doc.get("name") not in held]
    holdout = {turn: [_tool(doc, f"missed_function.{turn}") for doc in docs if doc.get("name") in names]
               for turn, names in missed.items()}
    messages = [{"role": m.get("role"), "content": m.get("content")} for m in turns[0] if isinstance(m, dict)]
    return {"id": f"bfcl/{category}/{index}", "tools": tools, "messages": messages,
            "meta": {"source": "bfcl", "bfcl_id": item.get("id"), "category": category, "turns": turns,
                     "initial_config": item.get("initial_config") or {}, "involved_classes": classes,
                     "holdout_tools": holdout, "ground_truth": truth}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    file = category_file(str(path))
    category = category_of(file)
    answers: list[Any] = []
    if category not in NO_GOLD:
        answer_file = file.parent / "possible_answer" / file.name
        if not answer_file.is_file():
            raise UserError(f"no ground truth for {category}: {answer_file} is missing")
        answers = [item for _, item in iter_items(answer_file)]
    for index, (where, item) in enumerate(iter_items(file)):
        answer = answers[index] if index < len(answers) else None
        build = convert_multi_turn_item if category in MULTI_TURN else convert_item
        record = build_one(tally, strict, where, lambda: build(item_or_fail(item), item_or_fail(answer), category, index))
        if record is not None:
            yield record
