"""ACEBench (``acebench:<category>``, English): its files read into evaluation cases, and its published rules.

A category is ``data_en/data_<category>.json`` (one JSON object a line: ``{"id", "question", "function",
"time"[, "profile"]}``) with its answers in ``data_en/possible_answer/data_<category>.json`` (``{"id",
"ground_truth"}``), under ``--data-dir``/``acebench``; any category laid out so is read.  The agent
categories (``agent_*``) need an LLM playing the user and are refused.

Each item becomes a case ``acebench/<category>/<item id>``: the question (ACEBench writes the whole
conversation, ``user: ... system: ...``, as one text) is the user message, after a system message saying
what to answer (``NORMAL_INSTRUCTION`` or ``SPECIAL_INSTRUCTION``: the latter names the three phrases
ACEBench's checker looks for) and the item's ``time``/``profile``.  ``gold`` holds the ground truth as
calls, so TS/PI/CF apply as everywhere (a special item's gold is "no call"); ACEBench's own verdict is
``official_verdict``, reproducing ``model_eval/checker.py`` and ``eval_main.py`` of ACEBench/ACEBench:

- **normal**: the calls (read by ``calls.parse_calls``; a plain text is ``wrong_output_format``) number
  as many as the ground truth's, and their names are the same multiset (a ``_<n>`` suffix on a ground-truth
  name, which tells repeated calls apart, is dropped); every ground-truth call is met by some predicted
  call of its name that passes the function check: every parameter the schema requires is present, every
  given parameter is in the schema and in the ground truth, its type is the schema's (``number`` is int,
  ``"true"``/``"false"`` read as booleans, an int passes as ``float``), or else the ground truth's type,
  which then passes it without a value check; values: strings pass when the standardised ground truth
  (spaces and ``,./-_*^`` removed, lower case) is a substring of the standardised value; lists compare
  element-wise after standardising strings; objects need the same number of keys, all in the ground
  truth, nested objects recursively and other values by substring of their standardised ``str``; lists of
  objects pairwise in order.  Top-level numbers and booleans get no value check (ACEBench checks their
  type only).
- **special**: ``incomplete`` needs "Missing necessary parameters", the API name and every missing
  parameter the ground truth lists, in the output text; ``error_param`` needs "There is incorrect value"
  and every wrong value listed; ``irrelevant`` needs "the limitations of the function".
- **accuracy** per category: the share of valid items; ``normal_multi_turn_*`` count a conversation (ids
  ``..._<conversation>_<step>``) as valid when all its steps are, and add the process accuracy (the mean
  share of valid steps per conversation).

Departures, all where ACEBench's code cannot be what it means: a function is found by its exact name
(ACEBench takes the first whose name is a substring of the wanted one); whitespace is removed inside the
standardisation rather than from the raw output before parsing (which also strips the spaces inside
string values nested in lists of objects, failing gold answers); a missing ``required`` list is empty.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..calls import parse_calls
from ..errors import RecordError, UserError
from ..jsonl import Tally, json_lines

NORMAL, SPECIAL_KINDS = "normal", ("incomplete", "error_param", "irrelevant")
MISSING_PHRASE = "Missing necessary parameters"
WRONG_VALUE_PHRASE = "There is incorrect value"
IRRELEVANT_PHRASE = "the limitations of the function"

NORMAL_INSTRUCTION = (
    "Answer the user's latest request in the conversation below with calls to the given tools. Give only the "
    "parameters the user states (a parameter the user does not mention is left out), with values in the user's "
    "own words where the tool does not fix a format. When the request needs several calls, make all of them.")
SPECIAL_INSTRUCTION = (
    "If the user's request is clear and the given tools can serve it, answer it with calls to the tools. "
    "Otherwise do not call a tool; say what is wrong, in one of these forms:\n"
    f"- a value does not fit the tool's definition of its parameter: \"{WRONG_VALUE_PHRASE} (value) for the "
    "parameters (key) in the conversation history.\"\n"
    f"- details the tool needs are missing: \"{MISSING_PHRASE} (key1, key2, ...) for the api (ApiName)\"\n"
    f"- the request is beyond what the tools can do: \"Due to {IRRELEVANT_PHRASE}, I cannot solve this problem.\"\n"
    "Check for an incorrect value first.")

# ACEBench's PYTHON_TYPE_MAPPING: what type a value of each schema type must have ("number" is int there).
SCHEMA_TYPES = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list, "tuple": list,
                "dict": dict, "any": str, "list": list, "object": dict, "objectArray": list, "list(string)": list,
                "list(enum)": list, "int": int, "number": int}
NESTED_TYPES = ("array", "tuple", "list(string)", "list(enum)", "object", "objectArray")
_STANDARDIZE = re.compile(r"[\s,./\-_*^]")
_REPEAT_SUFFIX = re.compile(r"_\d+$")
_MULTI_TURN_ID = re.compile(r"_(\d+)_(\d+)$")


def kind_of(category: str) -> str:
    """``normal``, or the special kind (``incomplete``, ``error_param``, ``irrelevant``) of a category."""
    if category.startswith("special_"):
        kind = category.removeprefix("special_")
        if kind not in SPECIAL_KINDS:
            raise UserError(f"acebench:{category}: unknown special category; known: "
                            + ", ".join(f"special_{k}" for k in SPECIAL_KINDS))
        return kind
    if category.startswith("agent_"):
        raise UserError(f"acebench:{category}: the agent categories need an LLM playing the user (ACEBench's "
                        "user simulator); they are not run offline")
    return NORMAL


# --------------------------------------------------------------------------------------------- reading


def data_file(data_dir: str | Path, category: str) -> Path:
    return Path(data_dir) / "acebench" / "data_en" / f"data_{category}.json"


def answer_file(path: Path) -> Path:
    return path.parent / "possible_answer" / path.name


def category_of(path: Path) -> str:
    return path.stem.removeprefix("data_")


def _tool(spec: Any, field: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise RecordError("a function spec needs a name", field)
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RecordError("parameters must be an object", f"{field}.parameters")
    return {"type": "function", "function": {"name": spec["name"], "description": spec.get("description") or "",
                                             "parameters": parameters}}


def _gold(ground_truth: Any, kind: str) -> list[list[dict[str, Any]]]:
    if kind != NORMAL:
        return [[]]  # a special item is answered in words, with no call
    answers = ground_truth if isinstance(ground_truth, list) else [ground_truth]
    gold = []
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict) or not all(isinstance(args, dict) for args in answer.values()):
            raise RecordError("a normal ground truth maps each function name to its arguments", f"ground_truth[{i}]")
        gold.append([{"name": _REPEAT_SUFFIX.sub("", name), "arguments": args} for name, args in answer.items()])
    return gold


def _case(item: Any, answers: dict[str, Any], category: str, kind: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise RecordError("an item needs a string id", "id")
    if item["id"] not in answers:
        raise RecordError("no ground truth in possible_answer/ for this id", "id")
    if not isinstance(item.get("question"), str) or not isinstance(item.get("function"), list):
        raise RecordError('expected {"id", "question", "function": [...]}', "question")
    answer = answers[item["id"]]
    system = [NORMAL_INSTRUCTION if kind == NORMAL else SPECIAL_INSTRUCTION]
    system += [text for text in (item.get("time"), item.get("profile") and f"User profile: {item['profile']}")
               if isinstance(text, str) and text]
    return {
        "id": f"acebench/{category}/{item['id']}",
        "tools": [_tool(spec, f"function[{i}]") for i, spec in enumerate(item["function"])],
        "messages": [{"role": "system", "content": "\n\n".join(system)},
                     {"role": "user", "content": f"Conversation history:\n{item['question']}"}],
        "gold": _gold(answer, kind),
        "meta": {"source": "acebench", "category": category, "source_id": item["id"],
                 "acebench": {"kind": kind, "ground_truth": answer}},
    }


def read_cases(benchmark, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    """The cases of one category file (answers from ``possible_answer/`` beside it); an item without an
    answer, or malformed, is counted under its reason (an error naming file:line when ``strict``)."""
    from ..convert.common import build_one

    path = Path(benchmark.source)
    category = category_of(path)
    kind = kind_of(category)
    answers_path = answer_file(path)
    if not answers_path.is_file():
        raise UserError(f"{path}: its answers {answers_path} are missing (ACEBench keeps them in possible_answer/)")
    answers = {}
    for where, entry in json_lines(answers_path):
        if not isinstance(entry, dict) or "id" not in entry or "ground_truth" not in entry:
            raise UserError(f'{where}: field ground_truth: expected {{"id", "ground_truth"}}')
        answers[entry["id"]] = entry["ground_truth"]
    for where, item in json_lines(path):
        case = build_one(tally, strict, where, lambda: _case(item, answers, category, kind))
        if case is not None:
            yield case


# ------------------------------------------------------------------------------------- official rules


def standardize(text: str) -> str:
    """ACEBench's ``standardize_string`` (BFCL's), with every whitespace character removed, not only spaces."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def _boolean_text(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


def _type_check(value: Any, gold: Any, expected: type, nested: type | None) -> tuple[bool, bool]:
    """(valid, skip the value check): ACEBench's ``type_checker``."""
    gold_type = None if gold == "" else type(gold)
    skip = gold_type is not None and gold_type is not expected
    value = _boolean_text(value)
    if type(value) is expected:
        if nested is None:
            return True, skip
        for item in gold if isinstance(gold, (list, dict, str)) else ():
            if type(item) is not list or all(_type_check(v, item, nested, None)[0] for v in value):
                return True, skip
    if gold_type is not None and (type(value) is gold_type or value == gold):
        return True, True
    return False, False


def _dict_ok(value: Any, gold: dict) -> bool:
    if not isinstance(value, dict) or len(value) != len(gold):
        return False
    for key, item in value.items():
        item = _boolean_text(item)
        if key not in gold:
            return False
        if isinstance(gold[key], dict):
            if not _dict_ok(item, gold[key]):
                return False
            continue
        wanted = standardize(gold[key]) if isinstance(gold[key], str) else gold[key]
        given = standardize(item) if isinstance(item, str) else item
        if str(wanted) not in str(given):
            return False
    return True


def _standard_list(values: Iterable[Any]) -> list[Any]:
    return [standardize(v) if isinstance(v, str) else v for v in values]


def _item_type(type_name: str, schema: dict[str, Any]) -> type | bool:
    """The type a list's (or object's) items must have: the schema's ``items.type``, else ACEBench's guess
    from the type's name (``list(string)``: str; otherwise dict); False for a type ACEBench has no mapping for."""
    items = schema.get("items")
    item_type = items.get("type") if isinstance(items, dict) else None
    if not isinstance(item_type, str):
        item_type = "string" if "string" in type_name else "dict"
    return SCHEMA_TYPES.get(item_type, False)


def _value_error(value: Any, gold: Any, expected: type, nested: type | None) -> str | None:
    if expected is dict:
        return None if _dict_ok(value, gold) else "value_error:dict"
    if expected is list and nested is dict:
        if len(value) != len(gold) or not all(_dict_ok(v, g) for v, g in zip(value, gold)):
            return "value_error:list_dict"
        return None
    if expected is str:
        return None if standardize(gold) in standardize(value) else "value_error:string"
    if expected is list:
        return None if _standard_list(value) == _standard_list(gold) else "value_error:list"
    return None  # numbers and booleans: ACEBench checks their type only


def _function_error(function: dict[str, Any], args: dict[str, Any], gold_args: dict[str, Any]) -> str | None:
    """ACEBench's ``simple_function_checker``: None when the call passes, else its error type."""
    parameters = function.get("parameters") or {}
    if not args or not parameters:
        return None if not args and not parameters else "wrong_param"
    properties = parameters.get("properties") or {}
    if gold_args == properties:  # as published: a ground truth equal to the schema's properties passes
        return None
    if not gold_args:
        return "wrong_param"
    if any(param not in args for param in parameters.get("required") or []):
        return "lack_args"
    for param, value in args.items():
        if param not in properties or param not in gold_args:
            return "addition_args"
        schema = properties[param] if isinstance(properties[param], dict) else {}
        type_name = schema.get("type")
        expected = SCHEMA_TYPES.get(type_name) if isinstance(type_name, str) else None
        if expected is None:
            return f"type_error: unknown schema type {type_name!r}"
        nested = _item_type(type_name, schema) if type_name in NESTED_TYPES else None
        if nested is False:
            return f"type_error: unknown item type of {param!r}"
        if type_name == "float" and type(value) is int:
            value = float(value)
        valid, skip = _type_check(value, gold_args[param], expected, nested)
        if not valid:
            return "type_error"
        if not skip:
            problem = _value_error(value, gold_args[param], expected, nested)
            if problem:
                return problem
    return None


def _normal_error(calls: list[dict[str, Any]], answer: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str | None:
    if len(calls) != len(answer):
        return "wrong functions number"
    if Counter(c["name"] for c in calls) != Counter(g["name"] for g in answer):
        return "function_mismatch"
    functions = {t["function"]["name"]: t["function"] for t in tools}
    for gold in answer:
        function = functions.get(gold["name"])
        if function is None:
            return f"no function {gold['name']!r} among the tools"
        errors = [_function_error(function, c["arguments"], gold["arguments"]) for c in calls if c["name"] == gold["name"]]
        if None not in errors:
            return errors[0]
    return None


def _special_error(text: str, kind: str, ground_truth: Any) -> str | None:
    if kind == "irrelevant":
        return None if IRRELEVANT_PHRASE in text else "error_detection"
    phrase = MISSING_PHRASE if kind == "incomplete" else WRONG_VALUE_PHRASE
    for name, values in (ground_truth or {}).items():
        if phrase not in text:
            return "error_detection"
        if kind == "incomplete" and name not in text:
            return "error_correction"
        if any(str(value) not in text for value in values):
            return "error_correction"
    return None


def official_verdict(case: dict[str, Any], prediction: str, syntax: str = "auto") -> dict[str, Any]:
    """ACEBench's verdict on one output: ``{"valid", "error_type", "conversation"}`` (module docstring)."""
    meta = case["meta"]["acebench"]
    if meta["kind"] == NORMAL:
        parsed = parse_calls(prediction, syntax)
        if parsed.error is not None or not parsed.calls:
            error = "wrong_output_format"
        else:
            errors = [_normal_error(parsed.calls, answer, case.get("tools") or []) for answer in case["gold"]]
            error = None if None in errors else errors[0]
    else:
        error = _special_error(prediction, meta["kind"], meta["ground_truth"])
    multi_turn = _MULTI_TURN_ID.search(case["meta"]["source_id"]) if "multi_turn" in case["meta"]["category"] else None
    return {"valid": error is None, "error_type": error, "conversation": multi_turn.group(1) if multi_turn else None}


def _pct(count: float, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def summarize(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """ACEBench's accuracy over one category's verdicts (per conversation for the multi-turn ones)."""
    result: dict[str, Any] = {"cases": len(verdicts), "correct": sum(v["valid"] for v in verdicts),
                              "errors": dict(Counter(v["error_type"] for v in verdicts if not v["valid"]).most_common())}
    conversations: dict[str, list[bool]] = defaultdict(list)
    for v in verdicts:
        if v["conversation"] is not None:
            conversations[v["conversation"]].append(v["valid"])
    if conversations:
        result["conversations"] = len(conversations)
        result["accuracy"] = _pct(sum(all(steps) for steps in conversations.values()), len(conversations))
        result["process_accuracy"] = _pct(sum(sum(s) / len(s) for s in conversations.values()), len(conversations))
    else:
        result["accuracy"] = _pct(result["correct"], len(verdicts))
    return result
