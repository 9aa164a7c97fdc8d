"""toolalpaca: ToolAlpaca evaluation files (``eval_simulated.json``, ``eval_real.json``).

Source: a JSON list of APIs, each with ``Instructions`` and ``Golden_Answers`` (per instruction, a list of
steps ``{"Action", "Action_Input": "<JSON text>"}``), its OpenAPI ``Documentation`` and
``Function_Description``.  Each instruction becomes a case ``toolalpaca/<file stem>/<index>`` (index
over the whole file) whose gold is the *first* golden step.  Tools: one per OpenAPI operation
(``operationId``; query/path/header parameters and the JSON request body's properties, local ``$ref``s
resolved; description from ``Function_Description``), plus ToolAlpaca's built-in ``getDetails`` (ask the
user), which the golden steps call.  Gold values: "" (the annotators' "not given") -> ``{"any_of": ["",
null]}``; placeholders the annotators wrote instead of a value (``${start date}``, ``"{end date}"``)
-> ``{"any_value": true}``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..jsonl import Tally
from .common import build_one, fail, load_json_list

GET_DETAILS = {"type": "function", "function": {
    "name": "getDetails", "description": "Ask the user for the details needed to complete the request.",
    "parameters": {"type": "object", "properties": {"Question": {"type": "string", "description": "The question to ask."}},
                   "required": ["Question"]}}}
ANY_VALUE = {"any_value": True}
BARE_PLACEHOLDER = re.compile(r'"?\$\{[^{}"]*\}"?')  # ${start date}, sometimes with a stray quote
QUOTED_PLACEHOLDER = re.compile(r"\$?\{[^{}]*\}\Z")  # "{start date}" as a string value


def _resolve(node: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """Local ``#/components/...`` references replaced by what they name (OpenAPI schemas)."""
    if depth > 20:
        fail("$ref nesting deeper than 20 (a cycle?)", "Documentation")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = {"components": components}
            for part in ref.lstrip("#/").split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if target is None:
                fail(f"unresolved $ref {ref}", "Documentation")
            return _resolve(target, components, depth + 1)
        return {k: _resolve(v, components, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components, depth + 1) for v in node]
    return node


def _parameters(operation: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in operation.get("parameters") or []:
        if not isinstance(param, dict) or not param.get("name"):
            continue
        schema = dict(param.get("schema") or {"type": "string"})
        if param.get("description"):
            schema["description"] = param["description"]
        properties[param["name"]] = schema
        if param.get("required"):
            required.append(param["name"])
    body = (((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema") or {}
    properties.update(body.get("properties") or {})
    required.extend(name for name in body.get("required") or [] if name not in required)
    return {"type": "object", "properties": properties, "required": required}


def tools_of(api: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        doc = json.loads(api["Documentation"]) if isinstance(api.get("Documentation"), str) else api.get("Documentation")
    except json.JSONDecodeError as exc:
        fail(f"Documentation is not valid JSON ({exc.msg})", "Documentation")
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        fail("Documentation must be an OpenAPI object with paths", "Documentation")
    doc = _resolve(doc, doc.get("components") or {})
    described = api.get("Function_Description") or {}
    tools = []
    for methods in doc["paths"].values():
        for operation in (methods or {}).values():
            if not isinstance(operation, dict) or not operation.get("operationId"):
                continue
            name = operation["operationId"]
            description = (described.get(name) or "").split("\nParameters:")[0] or operation.get("description", "")
            tools.append({"type": "function", "function": {"name": name, "description": description,
                                                           "parameters": _parameters(operation)}})
    return tools + [GET_DETAILS]


def _gold_value(value: Any) -> Any:
    if value == "":
        return {"any_of": ["", None]}
    if isinstance(value, str) and QUOTED_PLACEHOLDER.match(value):
        return ANY_VALUE
    return value


def gold_call(step: Any, field: str) -> dict[str, Any]:
    if not isinstance(step, dict) or not isinstance(step.get("Action"), str):
        fail('a golden step is {"Action", "Action_Input"}', field)
    text = step.get("Action_Input") or "{}"
    try:
        arguments = json.loads(BARE_PLACEHOLDER.sub(json.dumps(ANY_VALUE), text))
    except json.JSONDecodeError as exc:
        fail(f"Action_Input is not valid JSON ({exc.msg}): {text[:80]!r}", f"{field}.Action_Input")
    if not isinstance(arguments, dict):
        fail("Action_Input must be a JSON object", f"{field}.Action_Input")
    return {"name": step["Action"], "arguments": {k: v if v == ANY_VALUE else _gold_value(v) for k, v in arguments.items()}}


def convert_case(api: dict[str, Any], tools: list[dict[str, Any]], i: int, record_id: str) -> dict[str, Any]:
    instruction = api["Instructions"][i]
    answers = api.get("Golden_Answers") or []
    field = f"Golden_Answers[{i}]"
    if not isinstance(instruction, str):
        fail("an instruction must be a string", f"Instructions[{i}]")
    if i >= len(answers) or not isinstance(answers[i], list) or not answers[i]:
        fail("no golden steps for this instruction", field)
    return {"id": record_id, "tools": tools, "messages": [{"role": "user", "content": instruction}],
            "gold": [[gold_call(answers[i][0], f"{field}[0]")]],
            "meta": {"source": "toolalpaca", "api": api.get("Name"), "golden_steps": len(answers[i])}}


def convert(path: Path, tally: Tally, strict: bool) -> Iterator[dict[str, Any]]:
    index = 0
    for a, api in enumerate(load_json_list(path)):
        where = f"{path}:index {a}"
        if not isinstance(api, dict) or not isinstance(api.get("Instructions"), list):
            build_one(tally, strict, where, lambda: fail("an API entry needs an Instructions list", "Instructions"))
            continue
        tools: list[list[dict[str, Any]]] = []  # read once per API, on its first instruction

        def build(i: int, record_id: str) -> dict[str, Any]:
            if not tools:
                tools.append(tools_of(api))
            return convert_case(api, tools[0], i, record_id)

        for i in range(len(api["Instructions"])):
            record = build_one(tally, strict, f"{where} Instructions[{i}]",
                               lambda: build(i, f"toolalpaca/{path.stem}/{index}"))
            if record is not None:
                yield record
            index += 1
