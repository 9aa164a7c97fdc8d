"""toolalpaca: ToolAlpaca evaluation files (``eval_simulated.json``, ``eval_real.json``).

Source: a JSON list of APIs, each with ``Instructions`` and ``Golden_Answers`` (per instruction, a list of
steps ``{"Action", "Action_Input": "<JSON text>"}``), its OpenAPI ``Documentation``, the
``Function_Description`` the model is shown (name -> text) and ``Function_Projection`` (name -> [path,
method]).  Each instruction becomes a case ``toolalpaca/<file stem>/<index>`` (index over the whole file)
whose gold is the *first* golden step.

Tools: one per OpenAPI operation, named as ``Function_Projection`` names its path and method (several
real APIs give no ``operationId``), else by its ``operationId``, in document order and limited to the
functions ``Function_Description`` lists when it lists any; plus ToolAlpaca's built-in ``getDetails`` (ask
the user), which the golden steps call.  Parameters: the operation's (and its path's) query, path and
header parameters and its request body's properties, read by the shared schema normaliser: ``$ref``s
resolved, a cycle cut to a generic object and a reference to nothing left untyped; each is a note of the
run and of the case (``meta.schema_notes``), never a rejection.  Response schemas are not read (no tool
needs them; the real file's cycles and dangling references all sit there).

Gold values: "" (the annotators' "not given") -> ``{"any_of": ["", null]}``; placeholders the annotators
wrote instead of a value (``${start date}``, ``"{end date}"``) -> ``{"any_value": true}``.  An
``Action_Input`` that is not valid JSON is repaired when one reading is certain -- a key written twice
(``"symbols": "symbols": ["EUR"]``, four cases of the real file) read once, or a Python dict literal --
and the case says so in ``meta.gold_repaired``; one no such repair reads is rejected with its reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..calls import ReadError, read_json, read_literal
from ..jsonl import Tally
from .common import build_one, fail, item_or_fail, iter_items, note, parse_json
from .schema import operation_parameters

GET_DETAILS = {"type": "function", "function": {
    "name": "getDetails", "description": "Ask the user for the details needed to complete the request.",
    "parameters": {"type": "object", "properties": {"Question": {"type": "string", "description": "The question to ask."}},
                   "required": ["Question"]}}}
ANY_VALUE = {"any_value": True}
BARE_PLACEHOLDER = re.compile(r'"?\$\{[^{}"]*\}"?')  # ${start date}, sometimes with a stray quote
QUOTED_PLACEHOLDER = re.compile(r"\$?\{[^{}]*\}\Z")  # "{start date}" as a string value
DOUBLED_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*"\1"\s*:')  # "symbols": "symbols": [...]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
    """(path, method, operation, the path's shared parameters) in document order."""
    for path, methods in doc["paths"].items():
        if not isinstance(methods, dict):
            continue
        for method, operation in methods.items():
            if method.lower() in HTTP_METHODS and isinstance(operation, dict):
                yield path, method.lower(), operation, methods.get("parameters")


def tools_of(api: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The API's tools and the notes its schemas gave (cycles cut, references to nothing)."""
    doc = parse_json(api.get("Documentation"), "Documentation", "Documentation")
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        fail("Documentation must be an OpenAPI object with paths", "Documentation")
    described = {k: v for k, v in (api.get("Function_Description") or {}).items() if k != "components"}
    projected = {(str(where[0]), str(where[1]).lower()): name for name, where in (api.get("Function_Projection") or {}).items()
                 if isinstance(where, list) and len(where) == 2}
    notes: list[str] = []
    tools = []
    for path, method, operation, shared in _operations(doc):
        name = projected.get((path, method)) or operation.get("operationId")
        if not name or (described and name not in described):
            continue
        text = described.get(name) if isinstance(described.get(name), str) else ""
        description = text.split("\nParameters:")[0] or operation.get("description", "")
        tools.append({"type": "function", "function": {"name": name, "description": description,
                                                       "parameters": operation_parameters(operation, doc, notes, shared)}})
    return tools + [GET_DETAILS], notes


def _gold_value(value: Any) -> Any:
    if value == "":
        return {"any_of": ["", None]}
    if isinstance(value, str) and QUOTED_PLACEHOLDER.match(value):
        return ANY_VALUE
    return value


def read_action_input(text: str, field: str) -> tuple[dict[str, Any], str | None]:
    """An ``Action_Input`` -> (arguments, the repair that made it readable, or None)."""
    text = BARE_PLACEHOLDER.sub(json.dumps(ANY_VALUE), text)
    repairs = (("a key written twice read once", lambda t: read_json(DOUBLED_KEY.sub(r'"\1":', t))),
               ("read as a Python dict literal", read_literal))
    try:
        arguments, repaired = read_json(text), None
    except ReadError as exc:
        for repaired, read in repairs:
            try:
                arguments = read(text)
                break
            except ReadError:
                continue
        else:
            fail(f"Action_Input cannot be read ({exc}), nor repaired with certainty: {text[:80]!r}", field)
    if not isinstance(arguments, dict):
        fail("Action_Input must be a JSON object", field)
    return arguments, repaired


def gold_call(step: Any, field: str) -> tuple[dict[str, Any], str | None]:
    if not isinstance(step, dict) or not isinstance(step.get("Action"), str):
        fail('a golden step is {"Action", "Action_Input"}', field)
    arguments, repaired = read_action_input(step.get("Action_Input") or "{}", f"{field}.Action_Input")
    call = {"name": step["Action"], "arguments": {k: v if v == ANY_VALUE else _gold_value(v) for k, v in arguments.items()}}
    return call, repaired


def convert_case(api: dict[str, Any], tools: list[dict[str, Any]], notes: list[str], i: int, record_id: str,
                 tally: Tally) -> dict[str, Any]:
    instruction = api["Instructions"][i]
    answers = api.get("Golden_Answers") or []
    field = f"Golden_Answers[{i}]"
    if not isinstance(instruction, str):
        fail("an instruction must be a string", f"Instructions[{i}]")
    if i >= len(answers) or not isinstance(answers[i], list) or not answers[i]:
        fail("no golden steps for this instruction", field)
    call, repaired = gold_call(answers[i][0], f"{field}[0]")
    meta = {"source": "toolalpaca", "api": api.get("Name"), "golden_steps": len(answers[i])}
    if notes:
        meta["schema_notes"] = notes
    if repaired:
        meta["gold_repaired"] = f"Action_Input: {repaired}"
        note(tally, f"gold Action_Input not valid JSON, repaired: {repaired}")
    return {"id": record_id, "tools": tools, "messages": [{"role": "user", "content": instruction}],
            "gold": [[call]], "meta": meta}


def _bad_entry(api: Any) -> None:
    item_or_fail(api)
    fail("an API entry needs an Instructions list", "Instructions")


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    index = 0
    for where, api in iter_items(path):
        if not isinstance(api, dict) or not isinstance(api.get("Instructions"), list):
            build_one(tally, strict, where, lambda: _bad_entry(api))
            continue
        read: list[tuple[list[dict[str, Any]], list[str]]] = []  # the tools, read once per API on its first case

        def build(i: int, record_id: str) -> dict[str, Any]:
            if not read:
                read.append(tools_of(api))
                for text in read[0][1]:
                    note(tally, f"toolalpaca schema: {text}")
            return convert_case(api, *read[0], i, record_id, tally)

        for i in range(len(api["Instructions"])):
            record = build_one(tally, strict, f"{where} Instructions[{i}]",
                               lambda: build(i, f"toolalpaca/{path.stem}/{index}"))
            if record is not None:
                yield record
            index += 1
